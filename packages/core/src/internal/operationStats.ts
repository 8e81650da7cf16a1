/**
 * Running statistics of one operation in constant memory: exact counts and
 * extremes since start, and a ring of the most recent durations for the
 * percentiles.
 *
 * The operation's core metrics read their state from here: `exportTo`
 * registers them in Effect's metric registry with hooks over these fields,
 * so finishing an operation costs a few field updates instead of one
 * registry lookup per metric. Errors are counted by `error.type`, at most
 * `maxErrorTypes` of them per operation; later types count as `_OTHER`.
 *
 * @internal
 */
import type { Context } from "effect"
import * as ErrorType from "../ErrorType.ts"
import { quantileSorted } from "simple-statistics"
import type { OperationMetrics } from "../ApmMetrics.ts"
import { durationBuckets } from "../ApmMetrics.ts"
import type { OperationSummary } from "../OperationSummary.ts"
import { percentileWindow } from "../OperationSummary.ts"
import type { OperationType } from "../OperationType.ts"
import type { PerformanceMetrics } from "../PerformanceMetrics.ts"
import { HistogramSeries, registerCounter, registerReadOnly } from "../ReadOnlyMetric.ts"

/** @internal */
const maxErrorTypes = 20

/** @internal */
export class OperationStats {
  readonly name: string
  readonly type: OperationType
  readonly metrics: OperationMetrics
  private exported: Context.Context<never> | undefined = undefined
  private readonly errorsByType = new Map<string, { count: number }>()
  active = 0
  successes = 0
  errors = 0
  slow = 0
  lastSeen = 0
  private readonly durations = new HistogramSeries(durationBuckets)
  private readonly recent = new Float64Array(percentileWindow)
  private next = 0

  constructor(name: string, type: OperationType, metrics: OperationMetrics) {
    this.name = name
    this.type = type
    this.metrics = metrics
  }

  add(record: PerformanceMetrics): void {
    const d = record.duration
    if (record.success) this.successes++
    if (record.status === "error" || record.status === "defect") {
      this.errors++
      this.errorCounter(record.errorType ?? ErrorType.other).count++
    }
    if (record.slow) this.slow++
    this.lastSeen = record.endTime
    this.durations.add(d)
    this.recent[this.next % percentileWindow] = d
    this.next++
  }

  /** The counter of one error type, registered when the type is first seen. */
  private errorCounter(errorType: string): { count: number } {
    const found = this.errorsByType.get(errorType)
    if (found !== undefined) return found
    if (this.errorsByType.size >= maxErrorTypes && errorType !== ErrorType.other) {
      return this.errorCounter(ErrorType.other)
    }
    const state = { count: 0 }
    this.errorsByType.set(errorType, state)
    if (this.exported !== undefined) registerCounter(this.metrics.errors(errorType), this.exported, () => state.count)
    return state
  }

  /** Registers the metrics in the registry of `context`, once. */
  exportTo(context: Context.Context<never>): void {
    if (this.exported !== undefined) return
    this.exported = context
    registerCounter(this.metrics.operations, context, () => this.durations.count)
    registerCounter(this.metrics.slow, context, () => this.slow)
    registerReadOnly(this.metrics.active, context, () => ({ value: this.active }))
    registerReadOnly(this.metrics.duration, context, () => this.durations.state())
  }

  summary(): OperationSummary {
    const { count: total, sum, min, max } = this.durations
    const filled = Math.min(this.next, percentileWindow)
    const sorted = filled === 0 ? undefined : this.recent.slice(0, filled).sort()
    const q = (p: number) => sorted === undefined ? 0 : quantileSorted(Array.from(sorted), p)
    return {
      operationName: this.name,
      operationType: this.type,
      totalOperations: total,
      successCount: this.successes,
      errorCount: this.errors,
      successRate: total === 0 ? 1 : this.successes / total,
      slowCount: this.slow,
      meanDuration: total === 0 ? 0 : sum / total,
      minDuration: total === 0 ? 0 : min,
      maxDuration: total === 0 ? 0 : max,
      p50Duration: q(0.5),
      p95Duration: q(0.95),
      p99Duration: q(0.99),
      lastSeen: this.lastSeen
    }
  }
}
