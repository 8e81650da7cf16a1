/**
 * The cost per operation of `Apm.trace` against a bare effect and against
 * `Effect.withSpan` with Effect's own tracer: median ns/op of several
 * repetitions in one process.
 */
import { Apm, ApmConfig } from "@mcp-apm/core"
import { Effect, Layer, Metric } from "effect"
import { median } from "simple-statistics"

const operations = 20_000
const repetitions = 7
const attributes = { "user.id": "123", "http.route": "/login", region: "eu" }

const loop = <R>(op: Effect.Effect<number, never, R>) =>
  Effect.gen(function*() {
    let sum = 0
    for (let i = 0; i < operations; i++) sum += yield* op
    return sum
  })

const timeOne = <R>(op: Effect.Effect<number, never, R>) =>
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
  Apm.layer.pipe(Layer.provide(ApmConfig.ApmConfig.layer(overrides)))

export const traceOverhead = Effect.gen(function*() {
  const bare = yield* measure(body)
  const withSpan = yield* measure(Effect.withSpan(body, "op", { attributes }))
  const traced = yield* measure(Apm.trace(body, "op", "custom_operation", attributes))
  return { bare, withSpan, traced, ratio: traced / withSpan }
}).pipe(Effect.provide(coreLayer()), Effect.provideService(Metric.MetricRegistry, new Map()))

export const printTraceOverhead = (r: Effect.Success<typeof traceOverhead>) => {
  console.log("trace-overhead (median ns/op of %d x %d ops)", repetitions, operations)
  console.log("  (a) bare effect            %s ns", r.bare.toFixed(0))
  console.log("  (b) Effect.withSpan        %s ns", r.withSpan.toFixed(0))
  console.log("  (c) Apm.trace              %s ns", r.traced.toFixed(0))
  console.log("  c/b = %s (target <= 1.5)", r.ratio.toFixed(2))
}

if (import.meta.main) printTraceOverhead(await Effect.runPromise(traceOverhead))
