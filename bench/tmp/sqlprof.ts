import { Apm, ApmConfig, QueryPatterns, SqlMonitoring } from "@mcp-apm/core"
import { Effect, Layer, Metric, Tracer } from "effect"
const n = 200000
const prog = Effect.gen(function*() {
  const apm = yield* Apm.Apm
  const context = yield* Effect.context<never>()
  const monitored = SqlMonitoring.make(Tracer.nativeTracer, apm, new QueryPatterns.QueryPatterns(), context)
  const q = Effect.withSpan(Effect.void, "sql.execute", { kind: "client", attributes: { "db.system.name": "postgresql", "db.query.text": "SELECT 1", "db.namespace": "postgres", "server.address": "127.0.0.1", "server.port": 5432 } })
  const which = process.argv[2] === "plain" ? Tracer.nativeTracer : monitored
  const e = Effect.withTracer(q, which)
  const t0 = process.cpuUsage()
  for (let i = 0; i < n; i++) yield* e
  const t = process.cpuUsage(t0)
  console.log(process.argv[2] ?? "monitored", ((t.user + t.system) * 1000 / n).toFixed(0), "ns/span")
}).pipe(Effect.provide(Apm.layerWithoutResources.pipe(Layer.provide(ApmConfig.ApmConfig.layer({})))), Effect.provideService(Metric.MetricRegistry, new Map()))
await Effect.runPromise(prog as any)
