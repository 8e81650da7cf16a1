/**
 * What a user pays in production: `Apm.trace` and `Apm.fn` through the
 * tracer `ApmLive` exports with, against what they would write instead on
 * the same OpenTelemetry provider (`Effect.withSpan` / `Effect.fn` through
 * `@effect/opentelemetry`, the same span with three metrics by hand, plain
 * OpenTelemetry JS), with the provider registered globally as an SDK would
 * (an AsyncLocalStorage context manager) and a batch processor whose
 * exporter discards. One process, the cases alternating round by round.
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { Apm, ApmConfig, SpanOperations, SqlMonitoring } from "@mcp-apm/core"
import * as NodeResourceMonitor from "@mcp-apm/runtime/NodeResourceMonitor"
import * as Tracing from "@mcp-apm/runtime/Tracing"
import { registeredProvider } from "@mcp-apm/runtime/test/support/registeredProvider"
import { RuntimeConfig } from "@mcp-apm/runtime/RuntimeConfig"
import { ExportResultCode } from "@opentelemetry/core"
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { Effect, Exit, Layer, Metric } from "effect"
import { median } from "simple-statistics"
import { cpuMicrosOf } from "./cpuTime.ts"
import { loop, operations } from "./trace-overhead.ts"

const rounds = 11
const attributes = { "user.id": "123", "http.route": "/login", region: "eu" }

class DiscardingExporter implements SpanExporter {
  export(_spans: Array<ReadableSpan>, done: (result: { code: ExportResultCode }) => void) {
    done({ code: ExportResultCode.SUCCESS })
  }
  shutdown() {
    return Promise.resolve()
  }
}

const provider = new NodeTracerProvider({
  spanProcessors: [
    new BatchSpanProcessor(new DiscardingExporter(), { maxQueueSize: 65_536, scheduledDelayMillis: 200 })
  ]
})

// As NodeSdk does: the global provider and the AsyncLocalStorage context manager non-Effect code reads; unset after.
const registered = registeredProvider(provider)

const providerLayer = Layer.succeed(OtelTracer.OtelTracerProvider, provider)

/** `Effect.withSpan` and `Effect.fn` as a user of `@effect/opentelemetry` has them. */
const effectOtel = OtelTracer.layer.pipe(Layer.provide(providerLayer))

/** `ApmLive`'s tracer stack on the same provider, with `ApmLive`'s core, less the HTTP and OTLP I/O. */
const apmOtel = SqlMonitoring.layer.pipe(
  Layer.provideMerge(SpanOperations.layer.pipe(Layer.provideMerge(Tracing.layerExistingProvider))),
  Layer.provideMerge(Apm.layer),
  Layer.provideMerge(SqlMonitoring.layerPatterns()),
  Layer.provide(NodeResourceMonitor.layer()),
  Layer.provide(ApmConfig.ApmConfig.layer({})),
  Layer.provide(RuntimeConfig.layerFromEnvironment),
  Layer.provide(providerLayer)
)

// A trivial body, where the span is all there is, and one of a few steps, where the context every step runs in counts.
const trivial = Effect.succeed(1)
const steps = Effect.gen(function*() {
  const a = yield* Effect.sync(() => 1)
  const b = yield* Effect.map(Effect.succeed(a), (x) => x + 1)
  return yield* Effect.sync(() => b - 1)
})

// CPU time, not wall time: on a shared machine a round's wall time is mostly whoever else ran during it.
const timeOne = (op: Effect.Effect<number>) => Effect.map(cpuMicrosOf(loop(op)), (micros) => micros * 1000 / operations)

const requests = Metric.counter("op_requests_total", { attributes })
const durations = Metric.histogram("op_duration_seconds", {
  boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  attributes
})
const errors = Metric.counter("op_errors_total", { attributes })

/** The span and the three metrics a user would add by hand: requests, duration, errors. */
const handMetrics = (body: Effect.Effect<number>) =>
  Effect.clockWith((clock) => {
    const start = clock.currentTimeNanosUnsafe()
    return Effect.onExit(Effect.withSpan(body, "op", { attributes }), (exit) =>
      Effect.andThen(
        Metric.update(requests, 1),
        Effect.andThen(
          Metric.update(durations, Number(clock.currentTimeNanosUnsafe() - start) / 1e9),
          Exit.isFailure(exit) ? Metric.update(errors, 1) : Effect.void
        )
      ))
  })

const tracer = provider.getTracer("bench")
const plainOtel = Effect.sync(() =>
  tracer.startActiveSpan("op", { attributes }, (span) => {
    span.end()
    return 1
  })
)

const effectFn = Effect.fn("op", { attributes })(function*(n: number) {
  return yield* Effect.succeed(n)
})
const apmFn = Apm.fn("op", "custom_operation", attributes)(function*(n: number) {
  return yield* Effect.succeed(n)
})

interface Case {
  readonly name: string
  readonly run: Effect.Effect<number, never, never>
}

/** Runs each case of `cases` once per round, in turn, and returns each case's median ns/op and per-round ratios. */
const alternate = (cases: ReadonlyArray<Case>) =>
  Effect.gen(function*() {
    for (const c of cases) yield* timeOne(c.run)
    const samples: Array<Array<number>> = []
    for (let round = 0; round < rounds; round++) {
      const row: Array<number> = []
      for (const c of cases) row.push(yield* timeOne(c.run))
      samples.push(row)
    }
    return cases.map((c, i) => ({
      name: c.name,
      nanos: median(samples.map((row) => row[i]!)),
      ratio: (j: number) => median(samples.map((row) => row[i]! / row[j]!))
    }))
  })

const otelOverheadOf = (body: Effect.Effect<number>) =>
  Effect.gen(function*() {
    const apmServices = yield* Layer.build(apmOtel)
    const inApm = <A, E>(effect: Effect.Effect<A, E, Apm.Apm>) => Effect.provideContext(effect, apmServices)
    const effectServices = yield* Layer.build(effectOtel)
    const inEffect = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideContext(effect, effectServices)
    const coreServices = yield* Layer.build(coreApm)
    const inCore = <A, E>(effect: Effect.Effect<A, E, Apm.Apm>) => Effect.provideContext(effect, coreServices)
    return yield* alternate([
      { name: "Effect.withSpan, @effect/opentelemetry", run: inEffect(Effect.withSpan(body, "op", { attributes })) },
      { name: "Apm.trace, ApmLive's tracer", run: inApm(Apm.trace(body, "op", "custom_operation", attributes)) },
      { name: "the span and three metrics by hand", run: inEffect(handMetrics(body)) },
      { name: "Effect.withSpan, ApmLive's tracer", run: inApm(Effect.withSpan(body, "op", { attributes })) },
      { name: "Effect.fn per call, @effect/opentelemetry", run: inEffect(Effect.suspend(() => effectFn(1))) },
      { name: "Apm.fn per call, ApmLive's tracer", run: inApm(Effect.suspend(() => apmFn(1))) },
      { name: "plain OpenTelemetry JS startActiveSpan", run: plainOtel },
      { name: "Effect.withSpan, Effect's own tracer", run: Effect.withSpan(body, "op", { attributes }) },
      { name: "Apm.trace, Effect's own tracer", run: inCore(Apm.trace(body, "op", "custom_operation", attributes)) }
    ])
  }).pipe(Effect.scoped)

export const otelOverhead = Effect.gen(function*() {
  // Without a context manager (ApmLive's own SDK registers none), entering a context costs nothing.
  const unregistered = yield* otelOverheadOf(trivial)
  const { registeredTrivial, registeredSteps } = yield* Effect.andThen(
    registered,
    Effect.all({ registeredTrivial: otelOverheadOf(trivial), registeredSteps: otelOverheadOf(steps) })
  ).pipe(Effect.scoped)
  return { unregistered, registeredTrivial, registeredSteps }
})

const coreApm = Apm.layerWithoutResources.pipe(Layer.provide(ApmConfig.ApmConfig.layer({})))

export const printOtelOverhead = (results: Effect.Success<typeof otelOverhead>) => {
  console.log("otel-overhead (median CPU ns/op of %d alternating rounds of %d ops)", rounds, operations)
  printCases("no context manager registered, a trivial body (Effect.succeed)", results.unregistered)
  printCases("registered (AsyncLocalStorage), a trivial body", results.registeredTrivial)
  printCases("registered (AsyncLocalStorage), a body of three steps (sync, map, sync)", results.registeredSteps)
}

const printCases = (title: string, r: Effect.Success<ReturnType<typeof otelOverheadOf>>) => {
  console.log(" %s", title)
  for (const c of r) console.log("  %s %s ns", c.name.padEnd(44), c.nanos.toFixed(0))
  const trace = r[1]!
  const apmFn = r[5]!
  const nativeTrace = r[8]!
  console.log("  Apm.trace / Effect.withSpan (OTel)  %s (target <= 1.0)", trace.ratio(0).toFixed(2))
  console.log("  Apm.fn / Effect.fn (OTel)           %s (target <= 1.0)", apmFn.ratio(4).toFixed(2))
  console.log("  Apm.trace / span + metrics by hand  %s", trace.ratio(2).toFixed(2))
  console.log("  Apm.trace / plain OpenTelemetry JS  %s (stretch <= 2)", trace.ratio(6).toFixed(2))
  console.log("  Apm.trace / Effect.withSpan (Effect's tracer)  %s", nativeTrace.ratio(7).toFixed(2))
}

if (import.meta.main) printOtelOverhead(await Effect.runPromise(otelOverhead))
