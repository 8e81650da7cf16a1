/**
 * `ApmRecorder`: what `ApmTest` recorded, every finished operation and every
 * finished span, to be read back by a test.
 *
 * @since 0.1.0
 */
import { Context } from "effect"
import type { Effect, Tracer } from "effect"
import type { OperationStatus, PerformanceMetrics } from "../PerformanceMetrics.ts"

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
 * The recorder `ApmTest` provides.
 *
 * @category services
 * @since 0.1.0
 */
export class ApmRecorder extends Context.Service<ApmRecorder, {
  readonly operations: Effect.Effect<ReadonlyArray<PerformanceMetrics>>
  readonly spans: Effect.Effect<ReadonlyArray<RecordedSpan>>
}>()("@mcp-apm/core/testing/ApmRecorder") {}

/**
 * Every finished operation, oldest first.
 *
 * @category accessors
 * @since 0.1.0
 */
export const operations: Effect.Effect<ReadonlyArray<PerformanceMetrics>, never, ApmRecorder> = ApmRecorder.use(
  (recorder) => recorder.operations
)

/**
 * Every finished span, traced by `Apm.trace` or not, in the order they ended.
 *
 * @category accessors
 * @since 0.1.0
 */
export const spans: Effect.Effect<ReadonlyArray<RecordedSpan>, never, ApmRecorder> = ApmRecorder.use(
  (recorder) => recorder.spans
)
