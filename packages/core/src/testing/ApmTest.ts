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
import type { AnomalyDetector } from "../AnomalyDetector.ts"
import * as Apm from "../Apm.ts"
import type { ApmConfigError, ApmOptions } from "../ApmConfig.ts"
import { ApmConfig, make as makeOptions } from "../ApmConfig.ts"
import type { BaselineStore } from "../BaselineStore.ts"
import type { PerformanceMetrics } from "../PerformanceMetrics.ts"
import { statusOf } from "../PerformanceMetrics.ts"
import type { Profiler } from "../Profiler.ts"
import type { ResourceMonitor } from "../ResourceMonitor.ts"
import type { RecordedSpan } from "./ApmRecorder.ts"
import { ApmRecorder } from "./ApmRecorder.ts"
import * as TestProfiler from "./TestProfiler.ts"
import * as TestResourceMonitor from "./TestResourceMonitor.ts"

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
 * `Apm` for tests, at the default configuration with `overrides`, with
 * `ApmRecorder`, the test resource monitor and profiler, and a metric
 * registry of its own.
 *
 * @example
 * ```ts
 * import { assert, it } from "@effect/vitest"
 * import { ApmRecorder, ApmTest } from "@mcp-apm/core/testing"
 *
 * it.effect("records the login", () =>
 *   Effect.gen(function*() {
 *     yield* Apm.trace(Effect.void, "user_login", "http_request")
 *     assert.strictEqual((yield* ApmRecorder.operations).length, 1)
 *   }).pipe(Effect.provide(ApmTest.layer())))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  overrides: Partial<ApmOptions> = {}
): Layer.Layer<
  | Apm.Apm
  | ApmRecorder
  | ApmConfig
  | BaselineStore
  | AnomalyDetector
  | ResourceMonitor
  | TestResourceMonitor.TestResourceMonitor
  | Profiler,
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
      Layer.provideMerge(Layer.merge(TestResourceMonitor.layer(), TestProfiler.layer())),
      Layer.provide(Layer.succeed(Apm.OperationListeners, [(record) => void operations.push(record)]))
    )).pipe(Effect.provideService(Metric.MetricRegistry, registry))
    return Context.merge(recorder, apm)
  }))
