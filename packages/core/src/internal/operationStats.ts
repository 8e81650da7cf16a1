/**
 * Running statistics of one operation in constant memory: exact counts and
 * extremes since start, and a ring of the most recent durations for the
 * percentiles.
 *
 * The operation's core metrics read their state from here: `exportTo`
 * registers them in Effect's metric registry with hooks over these fields,
 * so finishing an operation costs a few field updates instead of one
 * registry lookup per metric.
 *
 * @internal
 */
import type { Context } from "effect"
import { Metric } from "effect"
import { quantileSorted } from "simple-statistics"
import type { OperationMetrics } from "../ApmMetrics.ts"
import { durationBuckets } from "../ApmMetrics.ts"
import type { OperationSummary } from "../OperationSummary.ts"
import { percentileWindow } from "../OperationSummary.ts"
import type { OperationType } from "../OperationType.ts"
import type { PerformanceMetrics } from "../PerformanceMetrics.ts"

/** @internal */
export class OperationStats {
  readonly name: string
  readonly type: OperationType
  readonly metrics: OperationMetrics
  private exported = false
  active = 0
  total = 0
  successes = 0
  errors = 0
  slow = 0
  sum = 0
  min = Infinity
  max = -Infinity
  lastSeen = 0
  private readonly bucketCounts = new Float64Array(durationBuckets.length)
  private readonly recent = new Float64Array(percentileWindow)
  private next = 0

  constructor(name: string, type: OperationType, metrics: OperationMetrics) {
    this.name = name
    this.type = type
    this.metrics = metrics
  }

  add(record: PerformanceMetrics): void {
    const d = record.duration
    this.total++
    if (record.success) this.successes++
    if (record.status === "error" || record.status === "defect") this.errors++
    if (record.slow) this.slow++
    this.sum += d
    if (d < this.min) this.min = d
    if (d > this.max) this.max = d
    this.lastSeen = record.endTime
    const bucket = durationBuckets.findIndex((boundary) => d <= boundary)
    if (bucket >= 0) this.bucketCounts[bucket]!++
    this.recent[this.next % percentileWindow] = d
    this.next++
  }

  /** Registers the metrics in the registry of `context`, once. */
  exportTo(context: Context.Context<never>): void {
    if (this.exported) return
    this.exported = true
    const counter = (metric: Metric.Counter<number>, count: () => number) =>
      Metric.registerUnsafe(metric, context, {
        get: () => ({ count: count(), incremental: true }),
        update: ignore,
        modify: ignore
      })
    counter(this.metrics.operations, () => this.total)
    counter(this.metrics.errors, () => this.errors)
    counter(this.metrics.slow, () => this.slow)
    Metric.registerUnsafe(this.metrics.active, context, {
      get: () => ({ value: this.active }),
      update: ignore,
      modify: ignore
    })
    Metric.registerUnsafe(this.metrics.duration, context, {
      get: () => this.histogram(),
      update: ignore,
      modify: ignore
    })
  }

  private histogram(): Metric.HistogramState {
    let cumulative = 0
    const buckets: Array<[number, number]> = durationBuckets.map((boundary, i) => {
      cumulative += this.bucketCounts[i]!
      return [boundary, cumulative]
    })
    buckets.push([Infinity, this.total])
    return {
      buckets,
      count: this.total,
      min: this.total === 0 ? 0 : this.min,
      max: this.total === 0 ? 0 : this.max,
      sum: this.sum
    }
  }

  summary(): OperationSummary {
    const filled = Math.min(this.next, percentileWindow)
    const sorted = filled === 0 ? undefined : this.recent.slice(0, filled).sort()
    const q = (p: number) => sorted === undefined ? 0 : quantileSorted(Array.from(sorted), p)
    return {
      operationName: this.name,
      operationType: this.type,
      totalOperations: this.total,
      successCount: this.successes,
      errorCount: this.errors,
      successRate: this.total === 0 ? 1 : this.successes / this.total,
      slowCount: this.slow,
      meanDuration: this.total === 0 ? 0 : this.sum / this.total,
      minDuration: this.total === 0 ? 0 : this.min,
      maxDuration: this.total === 0 ? 0 : this.max,
      p50Duration: q(0.5),
      p95Duration: q(0.95),
      p99Duration: q(0.99),
      lastSeen: this.lastSeen
    }
  }
}

const ignore = () => {}
