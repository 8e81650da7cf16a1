/**
 * Whether tracing holds on to memory: the heap after a full GC along 10
 * million `Apm.trace` operations of one name (Effect's own tracer, so that
 * the APM's own state is what is weighed), along one million through
 * `ApmLive`'s OpenTelemetry tracer into a batch processor that discards,
 * and along 300,000 operations of distinct names, 300 times the operation
 * cap (`APM_MAX_OPERATIONS`, 1000 by default). Needs `--expose-gc`; without it, it runs itself again with it.
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { Apm, ApmConfig, SqlMonitoring } from "@mcp-apm/core"
import * as OtelSpanTracer from "@mcp-apm/runtime/OtelSpanTracer"
import { ExportResultCode } from "@opentelemetry/core"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const attributes = { "user.id": "123", "http.route": "/login", region: "eu" }
const megabytes = (bytes: number) => (bytes / 1_048_576).toFixed(1)

const heapAfterGc = () => {
  const gc = (globalThis as { gc?: () => void }).gc!
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** Runs `count` operations made by `op(i)`, reading the heap after GC at each of `marks`. */
const heapAlong = <R>(op: (i: number) => Effect.Effect<number, never, R>, marks: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const heaps: Array<{ operations: number; heap: number }> = []
    let done = 0
    for (const mark of marks) {
      for (; done < mark; done++) yield* op(done)
      // Yielding to the event loop lets the batch processor's timer take what is queued.
      yield* Effect.sleep(250)
      heaps.push({ operations: done, heap: heapAfterGc() })
    }
    return heaps
  })

const body = Effect.succeed(1)
const coreApm = Apm.layerWithoutResources.pipe(Layer.provide(ApmConfig.ApmConfig.layer({})))

const oneName = heapAlong(
  () => Apm.trace(body, "checkout", "business_transaction", attributes),
  [100_000, 1_000_000, 2_500_000, 5_000_000, 7_500_000, 10_000_000]
).pipe(Effect.provide(coreApm))

const throughOtel = Effect.gen(function*() {
  const provider = new NodeTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
        shutdown: () => Promise.resolve()
      }, { maxQueueSize: 8192, scheduledDelayMillis: 100 })
    ]
  })
  const stack = SqlMonitoring.layer.pipe(
    Layer.provideMerge(
      OtelSpanTracer.layer.pipe(Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, provider)))
    ),
    Layer.provideMerge(coreApm),
    Layer.provideMerge(SqlMonitoring.layerPatterns())
  )
  return yield* heapAlong(
    () => Apm.trace(body, "checkout", "business_transaction", attributes),
    [100_000, 250_000, 500_000, 750_000, 1_000_000]
  ).pipe(Effect.provide(stack), Effect.ensuring(Effect.promise(() => provider.shutdown())))
})

const distinctNames = heapAlong(
  (i) => Apm.trace(body, `operation-${i}`, "custom_operation", attributes),
  [1_000, 100_000, 200_000, 300_000]
).pipe(Effect.provide(coreApm))

export const traceMemory = Effect.all({ oneName, throughOtel, distinctNames })

export const printTraceMemory = (r: Effect.Success<typeof traceMemory>) => {
  console.log("trace-memory (heap used after a full GC, MB)")
  const row = (title: string, heaps: ReadonlyArray<{ operations: number; heap: number }>) => {
    const first = heaps[0]!.heap
    console.log("  %s", title)
    for (const { operations, heap } of heaps) {
      console.log(
        "    %s ops  %s MB  (%s MB from the first)",
        String(operations).padStart(10),
        megabytes(heap),
        megabytes(heap - first)
      )
    }
  }
  row("one name, Effect's own tracer", r.oneName)
  row("one name, ApmLive's OpenTelemetry tracer and SqlMonitoring", r.throughOtel)
  row("distinct names, 300 times APM_MAX_OPERATIONS (1000 by default)", r.distinctNames)
}

/** In `npm run bench`, which runs without `--expose-gc`: this file again, in a process of its own. */
export const runTraceMemoryBench = () => {
  spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url)], { stdio: "inherit" })
}

if (import.meta.main) {
  if ((globalThis as { gc?: unknown }).gc === undefined) runTraceMemoryBench()
  else printTraceMemory(await Effect.runPromise(traceMemory))
}
