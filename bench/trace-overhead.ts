/**
 * The cost per operation of `Apm.trace` (with its metrics, record, summary,
 * baseline and anomaly detector) against a bare effect and against
 * `Effect.withSpan` with Effect's own tracer, and the cost per span of
 * turning the spans an app already makes into operations
 * (`APM_TRACE_SPANS=all`): median ns/op of alternating rounds in one process.
 */
import { Apm, ApmConfig, SpanOperations } from "@mcp-apm/core"
import { Effect, Layer, Metric, Tracer } from "effect"
import { median } from "simple-statistics"

export const operations = 20_000
const repetitions = 7
const attributes = { "user.id": "123", "http.route": "/login", region: "eu" }

/** Runs `op` `operations` times in a row. */
export const loop = <R>(op: Effect.Effect<number, never, R>) =>
  Effect.gen(function*() {
    let sum = 0
    for (let i = 0; i < operations; i++) sum += yield* op
    return sum
  })

export const timeOne = <R>(op: Effect.Effect<number, never, R>) =>
  Effect.gen(function*() {
    const start = process.hrtime.bigint()
    yield* loop(op)
    return Number(process.hrtime.bigint() - start) / operations
  })

/** Median ns/op over `repetitions`, after one warm-up run. */
export const measure = <R>(op: Effect.Effect<number, never, R>) =>
  Effect.gen(function*() {
    yield* timeOne(op)
    const samples: Array<number> = []
    for (let i = 0; i < repetitions; i++) samples.push(yield* timeOne(op))
    return median(samples)
  })

const body = Effect.succeed(1)

/** The layers a live service runs `Apm.trace` with, less the HTTP and OTLP I/O. */
export const coreLayer = (overrides: Partial<ApmConfig.ApmOptions> = {}) =>
  Apm.layerWithoutResources.pipe(Layer.provide(ApmConfig.ApmConfig.layer(overrides)))

const rounds = 15

const compared = Effect.gen(function*() {
  const variants = [
    body,
    Effect.withSpan(body, "op", { attributes }),
    Apm.trace(body, "op", "custom_operation", attributes)
  ] as const
  for (const variant of variants) yield* timeOne(variant)
  // Alternate the variants round by round so that drift in the machine's load hits all alike.
  const samples: Array<[number, number, number]> = []
  for (let round = 0; round < rounds; round++) {
    samples.push([yield* timeOne(variants[0]), yield* timeOne(variants[1]), yield* timeOne(variants[2])])
  }
  return {
    bare: median(samples.map((s) => s[0])),
    withSpan: median(samples.map((s) => s[1])),
    traced: median(samples.map((s) => s[2])),
    ratio: median(samples.map((s) => s[2] / s[1]))
  }
}).pipe(Effect.provide(coreLayer()), Effect.provideService(Metric.MetricRegistry, new Map()))

// The same span with Effect's own tracer and with the bridge over it: each variant sets its tracer, so that both
// pay the same for it, and the difference is what recording a finished span as an operation costs.
const bridged = Effect.gen(function*() {
  const apm = yield* Apm.Apm
  const context = yield* Effect.context<never>()
  const bridge = SpanOperations.make(Tracer.nativeTracer, apm, SpanOperations.parse("all")!, context)
  const span = Effect.withSpan(body, "op", { attributes })
  const variants = [Effect.withTracer(span, Tracer.nativeTracer), Effect.withTracer(span, bridge)] as const
  for (const variant of variants) yield* timeOne(variant)
  const samples: Array<[number, number]> = []
  for (let round = 0; round < rounds; round++) samples.push([yield* timeOne(variants[0]), yield* timeOne(variants[1])])
  return {
    spanNative: median(samples.map((s) => s[0])),
    spanBridged: median(samples.map((s) => s[1])),
    perSpan: median(samples.map((s) => s[1] - s[0]))
  }
}).pipe(Effect.provide(coreLayer()), Effect.provideService(Metric.MetricRegistry, new Map()))

// A sibling, not a nested, provide: nested provides of the same layer share one build.
const disabled = measure(Apm.trace(body, "op", "custom_operation", attributes)).pipe(
  Effect.provide(coreLayer({ enabled: false }))
)

// what the anomaly detector costs on the hot path: the same trace without it
const undetected = measure(Apm.trace(body, "op", "custom_operation", attributes)).pipe(
  Effect.provide(coreLayer({ anomalyDetectionEnabled: false }))
)

export const traceOverhead = Effect.map(
  Effect.all([compared, disabled, undetected, bridged]),
  ([results, disabled, undetected, bridged]) => ({ ...results, disabled, undetected, ...bridged })
)

export const printTraceOverhead = (r: Effect.Success<typeof traceOverhead>) => {
  console.log("trace-overhead (median ns/op of %d alternating rounds of %d ops)", rounds, operations)
  console.log("  (a) bare effect            %s ns", r.bare.toFixed(0))
  console.log("  (b) Effect.withSpan        %s ns", r.withSpan.toFixed(0))
  console.log("  (c) Apm.trace              %s ns", r.traced.toFixed(0))
  console.log("  c/b = %s, median of the rounds' ratios (target <= 1.5)", r.ratio.toFixed(2))
  console.log("  (d) Apm.trace, enabled: false  %s ns (pass-through)", r.disabled.toFixed(0))
  console.log("  (e) Apm.trace, anomaly detection off  %s ns (c - e: the detector)", r.undetected.toFixed(0))
  console.log(
    "  (f) Effect.withSpan, APM_TRACE_SPANS=all  %s ns against %s ns: %s ns per span recorded as an operation",
    r.spanBridged.toFixed(0),
    r.spanNative.toFixed(0),
    r.perSpan.toFixed(0)
  )
}

if (import.meta.main) printTraceOverhead(await Effect.runPromise(traceOverhead))
