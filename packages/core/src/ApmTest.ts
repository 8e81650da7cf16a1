/**
 * `ApmTest`: the `Apm` service for tests. Deterministic (durations and
 * baseline refreshes follow the `TestClock` of `@effect/vitest`; the refresh
 * fiber stops with the layer, so no timer is left running), with the
 * same metrics as live in a registry of its own, and every finished
 * operation and span kept in memory to be read back through `ApmRecorder`.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Metric, Option, Tracer } from "effect"
import type { Exit } from "effect"
import type { AnomalyDetector } from "./AnomalyDetector.ts"
import * as Apm from "./Apm.ts"
import type { ApmConfigError, ApmOptions } from "./ApmConfig.ts"
import { ApmConfig, make as makeOptions } from "./ApmConfig.ts"
import type { BaselineStore } from "./BaselineStore.ts"
import type { OperationStatus, PerformanceMetrics } from "./PerformanceMetrics.ts"
import { statusOf } from "./PerformanceMetrics.ts"
import { Profiler } from "./Profiler.ts"
import { ResourceMonitor, ResourceMonitorTest } from "./ResourceMonitor.ts"

/**
 * A finished span as the test tracer saw it.
 *
 * @category models
 * @since 0.1.0
 */
export interface RecordedSpan {
  readonly name: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly kind: Tracer.SpanKind
  readonly attributes: Readonly<Record<string, unknown>>
  readonly events: ReadonlyArray<RecordedSpanEvent>
  readonly status: OperationStatus
}

/**
 * An event of a recorded span.
 *
 * @category models
 * @since 0.1.0
 */
export interface RecordedSpanEvent {
  readonly name: string
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * What `ApmTest` recorded.
 *
 * @category services
 * @since 0.1.0
 */
export class ApmRecorder extends Context.Service<ApmRecorder, {
  readonly operations: Effect.Effect<ReadonlyArray<PerformanceMetrics>>
  readonly spans: Effect.Effect<ReadonlyArray<RecordedSpan>>
}>()("@mcp-apm/core/ApmRecorder") {
  /** Every finished operation, oldest first. */
  static readonly operations = ApmRecorder.use((recorder) => recorder.operations)
  /** Every finished span, traced by `Apm.trace` or not, in the order they ended. */
  static readonly spans = ApmRecorder.use((recorder) => recorder.spans)
}

class RecordingSpan extends Tracer.NativeSpan {
  readonly onEnd: (span: RecordingSpan, exit: Exit.Exit<unknown, unknown>) => void
  constructor(
    options: ConstructorParameters<typeof Tracer.NativeSpan>[0],
    onEnd: (span: RecordingSpan, exit: Exit.Exit<unknown, unknown>) => void
  ) {
    super(options)
    this.onEnd = onEnd
  }
  override end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    const open = this.status._tag === "Started"
    super.end(endTime, exit)
    if (open) this.onEnd(this, exit)
  }
}

/**
 * `ApmTest` with configuration overrides.
 *
 * @category layers
 * @since 0.1.0
 */
export const make = (
  overrides: Partial<ApmOptions> = {}
): Layer.Layer<
  Apm.Apm | ApmRecorder | ApmConfig | BaselineStore | AnomalyDetector | ResourceMonitor | ResourceMonitorTest | Profiler,
  ApmConfigError
> =>
  Layer.effectContext(Effect.gen(function*() {
    const options = yield* makeOptions(overrides)
    const operations: Array<PerformanceMetrics> = []
    const spans: Array<RecordedSpan> = []
    const tracer = Tracer.make({
      span: (spanOptions) =>
        new RecordingSpan(spanOptions, (span, exit) => {
          spans.push({
            name: span.name,
            spanId: span.spanId,
            parentSpanId: Option.getOrUndefined(span.parent)?.spanId,
            kind: span.kind,
            attributes: Object.fromEntries(span.attributes),
            events: span.events.map(([name, , attributes]) => ({ name, attributes })),
            status: statusOf(exit)
          })
        })
    })
    const registry: Metric.MetricRegistry = new Map()
    const recorder = Context.make(ApmRecorder, {
      operations: Effect.sync(() => [...operations]),
      spans: Effect.sync(() => [...spans])
    }).pipe(
      Context.add(Tracer.Tracer, tracer),
      Context.add(Metric.MetricRegistry, registry)
    )
    // Built against the test's own registry, so that nothing registered while building leaks into others.
    const apm = yield* Layer.build(Apm.layer.pipe(
      Layer.provideMerge(Layer.succeed(ApmConfig, options)),
      Layer.provideMerge(Layer.merge(ResourceMonitor.layerTest(), Profiler.layerTest())),
      Layer.provide(Layer.succeed(Apm.OperationListeners, [(record) => void operations.push(record)]))
    )).pipe(Effect.provideService(Metric.MetricRegistry, registry))
    return Context.merge(recorder, apm)
  }))

/**
 * `Apm` for tests at the default configuration, with `ApmRecorder` and a
 * metric registry of its own.
 *
 * @category layers
 * @since 0.1.0
 */
export const ApmTest: Layer.Layer<
  Apm.Apm | ApmRecorder | ApmConfig | BaselineStore | AnomalyDetector | ResourceMonitor | ResourceMonitorTest | Profiler,
  ApmConfigError
> = make()

/**
 * The state of the metric series `id` whose attributes include `attributes`,
 * from the registry in context (`ApmTest`'s own in tests), if there is one.
 *
 * @category accessors
 * @since 0.1.0
 */
export const seriesState = (
  id: string,
  attributes: Readonly<Record<string, string>> = {}
): Effect.Effect<Readonly<Record<string, unknown>> | undefined> =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const found = snapshots.find((s) =>
      s.id === id &&
      Object.entries(attributes).every(([k, v]) => (s.attributes as Record<string, string> | undefined)?.[k] === v)
    )
    return found?.state as Record<string, unknown> | undefined
  })

/**
 * A counter's count or a gauge's value in the series `id` matching
 * `attributes`, if there is one.
 *
 * @example
 * ```ts
 * const calls = yield* ApmTesting.seriesValue("apm_operations_total", { operation_name: "user_login" })
 * ```
 *
 * @category accessors
 * @since 0.1.0
 */
export const seriesValue = (
  id: string,
  attributes: Readonly<Record<string, string>> = {}
): Effect.Effect<number | undefined> =>
  Effect.map(seriesState(id, attributes), (state) =>
    state === undefined ? undefined : (state["count"] ?? state["value"]) as number)
