/**
 * What a bad collector costs the application: throughput of `Apm.trace`
 * with span export to a healthy, a hanging and a 503 collector against no
 * export (median of alternating rounds in one process), and the heap after
 * 50,000 spans sent to a hanging collector.
 *
 * Two runs without export: without an endpoint (Effect's own tracer, what a
 * service gets with no `OTEL_EXPORTER_OTLP_ENDPOINT`) and with the OTel SDK's
 * spans handed to a processor that drops them, which isolates what export
 * itself costs from what OTel spans cost.
 *
 * The collectors run in child processes, as a real one runs elsewhere, so
 * that their work is not counted as the application's.
 * `node bench/export-resilience.ts`
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { Apm, ApmConfig } from "@mcp-apm/core"
import { RuntimeConfig, Tracing } from "@mcp-apm/runtime"
import { NoopSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { ConfigProvider, Context, Duration, Effect, Layer, Metric, Option } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { spawn } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { median } from "simple-statistics"
import { cpuMicrosOf } from "./cpuTime.ts"

type Mode = "ok" | "hang" | "503"

const serveCollector = (mode: Mode) => {
  const server = createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      if (mode === "hang") return
      if (mode === "503") res.writeHead(503).end()
      else res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`))
}

/** A collector in a child process; the scope kills it. */
const collector = (mode: Mode) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly endpoint: string; readonly kill: () => void }>((resume) => {
      const child = spawn(process.execPath, [import.meta.filename, "collector", mode], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      child.stdout.once("data", (chunk: Buffer) =>
        resume(Effect.succeed({
          endpoint: `http://127.0.0.1:${chunk.toString().trim()}`,
          kill: () => child.kill()
        })))
    }),
    (c) => Effect.sync(c.kill)
  )

const operations = 10_000
const rounds = 21
const attributes = { "user.id": "123", "http.route": "/login", region: "eu" }
const traced = Apm.trace(Effect.succeed(1), "op", "custom_operation", attributes)

/** `Apm` and span export as `ApmLive` wires them, less the HTTP server; its own metric registry. */
const stack = (env: Record<string, string>, tracing: typeof Tracing.layer = Tracing.layer) =>
  Effect.gen(function*() {
    const registry = new Map()
    const layer = Layer.mergeAll(Apm.layerWithoutResources, tracing).pipe(
      Layer.provide(ApmConfig.ApmConfig.layer()),
      Layer.provide(RuntimeConfig.layer({
        host: "127.0.0.1",
        port: 0,
        serviceName: "export-resilience",
        baselineFile: "unused.json",
        profileDirectory: Option.none(),
        httpToken: Option.none(),
        shutdownTimeout: Duration.seconds(3)
      })),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
    )
    const context = yield* Layer.build(layer).pipe(Effect.provideService(Metric.MetricRegistry, registry))
    return Context.add(context, Metric.MetricRegistry, registry)
  })

const run = (context: Context.Context<Apm.Apm>, count: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < count; i++) yield* traced
  }).pipe(Effect.provideContext(context))

/**
 * Operations per CPU-second of this process (all its threads, the export's
 * work included) in one round: on a shared machine, wall time mostly
 * measures the neighbours.
 */
const round = (context: Context.Context<Apm.Apm>) =>
  Effect.gen(function*() {
    return operations / ((yield* cpuMicrosOf(run(context, operations))) / 1e6)
  })

const dropped = (context: Context.Context<never>) =>
  PrometheusMetrics.format().pipe(
    Effect.provideContext(context),
    Effect.map((text) => text.split("\n").filter((l) => l.startsWith("apm_spans_")).join(", "))
  )

const collectors: ReadonlyArray<readonly [string, Mode]> = [["healthy", "ok"], ["hanging", "hang"], ["503", "503"]]

const throughput = Effect.gen(function*() {
  const variants: Array<readonly [string, Context.Context<Apm.Apm>]> = [
    ["no export", yield* stack({})],
    ["OTel, none", yield* stack({}, NodeSdk.layer(() => ({ spanProcessor: new NoopSpanProcessor() })))]
  ]
  for (const [name, mode] of collectors) {
    const { endpoint } = yield* collector(mode)
    variants.push([name, yield* stack({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })])
  }
  for (const [, context] of variants) yield* round(context)
  // Alternate the variants round by round so that drift in the machine's load hits all alike.
  const samples: Array<Array<number>> = []
  for (let r = 0; r < rounds; r++) {
    const row: Array<number> = []
    for (const [, context] of variants) row.push(yield* round(context))
    samples.push(row)
  }
  const results = []
  for (const [i, [name, context]] of variants.entries()) {
    results.push({
      name,
      opsPerSecond: median(samples.map((s) => s[i]!)),
      vsNoExport: median(samples.map((s) => s[i]! / s[0]!)),
      vsOtel: median(samples.map((s) => s[i]! / s[1]!)),
      counters: yield* dropped(context)
    })
  }
  return results
})

const collectGarbage = (): () => void => {
  setFlagsFromString("--expose-gc")
  return runInNewContext("gc") as () => void
}

const heapMiB = (gc: () => void) => {
  gc()
  gc()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

/** Heap growth after 10,000 and after 50,000 spans to a hanging collector: bounded if the two are alike. */
const heap = Effect.gen(function*() {
  const gc = collectGarbage()
  const { endpoint } = yield* collector("hang")
  const context = yield* stack({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })
  yield* run(context, 1000)
  const before = heapMiB(gc)
  yield* run(context, 9_000)
  const at10k = heapMiB(gc) - before
  yield* run(context, 40_000)
  const at50k = heapMiB(gc) - before
  return { at10k, at50k, counters: yield* dropped(context) }
})

const percent = (ratio: number) => `${ratio >= 1 ? "+" : ""}${((ratio - 1) * 100).toFixed(1)}%`

export const exportResilience = Effect.all({ throughput, heap }).pipe(Effect.scoped)

export const printExportResilience = (r: Effect.Success<typeof exportResilience>) => {
  console.log(
    "export-resilience (Apm.trace with span export; median ops per CPU-second of %d alternating rounds of %d ops)",
    rounds,
    operations
  )
  console.log("  collector    ops/cpu-s  vs no export  vs OTel, none (target for hanging and 503: within 5%)")
  for (const row of r.throughput) {
    console.log(
      "  %s %s %s %s",
      row.name.padEnd(11),
      row.opsPerSecond.toFixed(0).padStart(8),
      percent(row.vsNoExport).padStart(12),
      percent(row.vsOtel).padStart(11)
    )
  }
  for (const row of r.throughput.slice(2)) console.log("  %s: %s", row.name, row.counters)
  console.log(
    "  heap growth to a hanging collector: %s MiB after 10,000 spans, %s MiB after 50,000 (%s)",
    r.heap.at10k.toFixed(1),
    r.heap.at50k.toFixed(1),
    r.heap.counters
  )
}

if (import.meta.main) {
  if (process.argv[2] === "collector") serveCollector(process.argv[3] as Mode)
  else printExportResilience(await Effect.runPromise(exportResilience))
}
