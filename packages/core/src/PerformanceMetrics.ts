/**
 * The record of one finished operation: what `Apm.trace` hands to summaries,
 * baselines, the anomaly detector and `ApmTest`.
 *
 * @since 0.1.0
 */
import { Cause, Exit, Schema } from "effect"
import { OperationType } from "./OperationType.ts"
import { OperationResourceUsage } from "./ResourceMonitor.ts"

/**
 * How an operation ended: `ok` (success), `error` (typed failure), `defect`
 * (a die) or `interrupted`.
 *
 * @category models
 * @since 0.1.0
 */
export const OperationStatus = Schema.Literals(["ok", "error", "defect", "interrupted"])

/**
 * @category models
 * @since 0.1.0
 */
export type OperationStatus = typeof OperationStatus.Type

/**
 * How `exit` ended, as an `OperationStatus`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const statusOf = (exit: Exit.Exit<unknown, unknown>): OperationStatus =>
  Exit.isSuccess(exit)
    ? "ok"
    : Cause.hasFails(exit.cause)
    ? "error"
    : Cause.hasDies(exit.cause)
    ? "defect"
    : "interrupted"

/**
 * Span and record attributes: flat, with primitive values, as OpenTelemetry
 * accepts them.
 *
 * @category models
 * @since 0.1.0
 */
export const Attributes = Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Number, Schema.Boolean]))

/**
 * @category models
 * @since 0.1.0
 */
export type Attributes = typeof Attributes.Type

/**
 * One finished operation. Times are epoch milliseconds, `duration` is in
 * seconds. The hot path builds plain objects of this shape; the schema is for
 * the boundaries (persistence, HTTP), where data comes from outside.
 *
 * @category models
 * @since 0.1.0
 */
export const PerformanceMetrics = Schema.Struct({
  operationName: Schema.String,
  operationType: OperationType,
  startTime: Schema.Finite,
  endTime: Schema.Finite,
  duration: Schema.Finite,
  status: OperationStatus,
  success: Schema.Boolean,
  slow: Schema.Boolean,
  errorMessage: Schema.optionalKey(Schema.String),
  /** OpenTelemetry's `error.type` of a failed or defective operation (see `ErrorType`). */
  errorType: Schema.optionalKey(Schema.String),
  attributes: Attributes,
  /** Present on the `memorySampleRate` fraction of operations whose resource use was sampled. */
  resourceUsage: Schema.optionalKey(OperationResourceUsage)
})

/**
 * @category models
 * @since 0.1.0
 */
export interface PerformanceMetrics extends Schema.Schema.Type<typeof PerformanceMetrics> {}

/**
 * Recorded error messages are cut to this many characters: an error can
 * carry a whole payload, and a record is kept in memory.
 *
 * @category constants
 * @since 0.1.0
 */
export const maxErrorMessageLength = 512

/**
 * Operation names longer than this fold into the overflow operation: a name
 * is a metric label value, and one built from a payload would make every
 * scrape carry it.
 *
 * @category constants
 * @since 0.1.0
 */
export const maxOperationNameLength = 256
