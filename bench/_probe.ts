import { Apm, ApmConfig } from "@mcp-apm/core"
import { Duration, Effect, Layer, Option } from "effect"
import { HttpServer } from "effect/http"
import { NetAddress } from "effect/net"
import { spawn } from "node:child_process"
import { ApmLiveStack, RuntimeConfig } from "@mcp-apm/runtime"
const live = ApmLiveStack.make(ApmConfig.ApmConfig.layer(), RuntimeConfig.layer({ host: "127.0.0.1", port: 0, serviceName: "x", baselineFile: "/tmp/probe-bl.json", profileDirectory: Option.none(), httpToken: Option.none(), shutdownTimeout: Duration.seconds(1) }))
await Effect.runPromise(Effect.gen(function*() {
  for (let i = 0; i < 2000; i++) yield* Apm.trace(Effect.void, `bench_op_${i % 12}`, "custom_operation")
  const base = NetAddress.formatUrlUnsafe((yield* HttpServer.HttpServer).address)
  const script = `const http=require("node:http");const agent=new http.Agent({keepAlive:true});let n=0;const end=Date.now()+5000;const get=(p)=>new Promise((r)=>http.get(process.argv[1]+p,{agent,headers:{"accept-encoding":"gzip"}},(res)=>{res.on("data",()=>{});res.on("end",r)}));async function l(){while(Date.now()<end){await get("/metrics");await get("/api/apm");n+=2}}Promise.all(Array.from({length:50},l)).then(()=>{console.log(n);process.exit(0)})`
  const child = spawn(process.execPath, ["-e", script, base], { stdio: ["ignore", "pipe", "inherit"] })
  let out = ""; child.stdout.on("data", (d) => out += d)
  yield* Effect.promise(() => new Promise((r) => child.on("exit", r)))
  console.log("requests", out.trim())
}).pipe(Effect.provide(Layer.fresh(live))))
