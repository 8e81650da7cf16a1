/**
 * The running summary of one operation: counts, success rate and duration
 * statistics, as `Apm.summary` and `Apm.summaries` return it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { OperationType } from "./OperationType.ts"

/**
 * Durations are in seconds; `lastSeen` is epoch milliseconds. Counts and
 * mean, min and max cover every operation since start; the percentiles
 * cover the most recent `percentileWindow` operations, so that memory per
 * operation stays constant.
 *
 * @category models
 * @since 0.1.0
 */
export const OperationSummary = Schema.Struct({
  operationName: Schema.String,
  operationType: OperationType,
  totalOperations: Schema.Int,
  successCount: Schema.Int,
  errorCount: Schema.Int,
  successRate: Schema.Finite,
  slowCount: Schema.Int,
  meanDuration: Schema.Finite,
  minDuration: Schema.Finite,
  maxDuration: Schema.Finite,
  p50Duration: Schema.Finite,
  p95Duration: Schema.Finite,
  p99Duration: Schema.Finite,
  lastSeen: Schema.Finite
})

/**
 * @category models
 * @since 0.1.0
 */
export interface OperationSummary extends Schema.Schema.Type<typeof OperationSummary> {}

/**
 * How many recent durations each operation keeps for its percentiles.
 *
 * @category constants
 * @since 0.1.0
 */
export const percentileWindow = 1024
