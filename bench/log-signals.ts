/**
 * What correlated logs cost: log lines per CPU-second of a Warning with one
 * annotation written inside a span, formatted by Effect's own JSON logger
 * (the baseline), by `Logging`'s json, logfmt and pretty formats (with the
 * trace context), and by `Logging`'s json plus OTLP log export to a healthy
 * collector (median of alternating rounds in one process).
 *
 * The console is a sink (formatting is measured, not the terminal); the
 * collector runs in a child process, as a real one runs elsewhere.
 * `node bench/log-signals.ts`
 */
import * as Resource from "@effect/opentelemetry/Resource"
import { Logging, OtlpLogs, RuntimeConfig } from "@mcp-apm/runtime"
import { ConfigProvider, Console, Context, Duration, Effect, Layer, Logger, Option } from "effect"
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { median } from "simple-statistics"
import { cpuMicrosOf } from "./cpuTime.ts"

const lines = 20_000
const rounds = 15

const serveCollector = () => {
  const server = createServer((req, res) => {
    req.resume()
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end("{}"))
  })
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`))
}

const collector = Effect.acquireRelease(
  Effect.callback<{ readonly endpoint: string; readonly kill: () => void }>((resume) => {
    const child = spawn(process.execPath, [import.meta.filename, "collector"], { stdio: ["ignore", "pipe", "inherit"] })
    child.stdout.once(
      "data",
      (chunk: Buffer) =>
        resume(Effect.succeed({ endpoint: `http://127.0.0.1:${chunk.toString().trim()}`, kill: () => child.kill() }))
    )
  }),
  (c) => Effect.sync(c.kill)
)

const sink = (): void => {}
const nullConsole: Console.Console = { ...globalThis.console, log: sink, error: sink, info: sink, warn: sink }

const runtime = RuntimeConfig.layer({
  host: "127.0.0.1",
  port: 0,
  serviceName: "log-signals",
  baselineFile: "unused.json",
  profileDirectory: Option.none(),
  httpToken: Option.none(),
  shutdownTimeout: Duration.seconds(3)
})

const loggers = (logger: Logger.Logger<unknown, unknown>) => Layer.build(Logger.layer([logger]))

const withOtlp = (endpoint: string) =>
  Layer.build(
    OtlpLogs.layer.pipe(
      Layer.provideMerge(Logger.layer([Logging.make("json")])),
      Layer.provide(Resource.layerFromEnv()),
      Layer.provide(runtime),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } })))
    )
  )

const write = (context: Context.Context<never>, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < count; i++) {
      yield* Effect.logWarning("plan storage write failed").pipe(Effect.annotateLogs({ "plan.id": "plan-7" }))
    }
  }).pipe(
    Effect.withSpan("plan_storage_save"),
    Effect.provideContext(context),
    Effect.provideService(Console.Console, nullConsole)
  )

const round = (context: Context.Context<never>) =>
  Effect.gen(function*() {
    return lines / ((yield* cpuMicrosOf(write(context, lines))) / 1e6)
  })

export const logSignals = Effect.gen(function*() {
  const { endpoint } = yield* collector
  const variants: Array<readonly [string, Context.Context<never>]> = [
    ["Effect json", yield* loggers(Logger.consoleJson)],
    ["json", yield* loggers(Logging.make("json"))],
    ["logfmt", yield* loggers(Logging.make("logfmt"))],
    ["pretty", yield* loggers(Logging.make("pretty"))],
    ["json + OTLP", yield* withOtlp(endpoint)]
  ]
  for (const [, context] of variants) yield* round(context)
  // Alternate the variants round by round so that drift in the machine's load hits all alike.
  const samples: Array<Array<number>> = []
  for (let r = 0; r < rounds; r++) samples.push(yield* Effect.forEach(variants, ([, context]) => round(context)))
  return variants.map(([name], i) => ({
    name,
    linesPerSecond: median(samples.map((s) => s[i]!)),
    vsEffectJson: median(samples.map((s) => s[i]! / s[0]!))
  }))
}).pipe(Effect.scoped)

export const printLogSignals = (rows: Effect.Success<typeof logSignals>) => {
  console.log(
    "log-signals (a Warning inside a span; median log lines per CPU-second of %d alternating rounds of %d lines)",
    rounds,
    lines
  )
  console.log("  format        lines/cpu-s  vs Effect json")
  for (const row of rows) {
    const percent = `${row.vsEffectJson >= 1 ? "+" : ""}${((row.vsEffectJson - 1) * 100).toFixed(1)}%`
    console.log("  %s %s %s", row.name.padEnd(12), row.linesPerSecond.toFixed(0).padStart(11), percent.padStart(15))
  }
}

if (import.meta.main) {
  if (process.argv[2] === "collector") serveCollector()
  else printLogSignals(await Effect.runPromise(logSignals))
}
