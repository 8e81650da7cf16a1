/**
 * Metrics whose state lives in your own fields and is read by Effect's
 * registry only when metrics are exported (`Metric.snapshot`,
 * `PrometheusMetrics.format`): a hot path then updates a number instead of
 * looking up the registry once per metric per update.
 *
 * @since 0.1.0
 */
import type { Context } from "effect"
import { Metric } from "effect"

const ignore = () => {}

/**
 * Registers `metric` in the registry of `context`, its state read from `get`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const registerReadOnly = <S>(metric: Metric.Metric<any, S>, context: Context.Context<never>, get: () => S) =>
  Metric.registerUnsafe(metric, context, { get, update: ignore, modify: ignore })

/**
 * A counter read from `count`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const registerCounter = (
  metric: Metric.Metric<any, Metric.CounterState<number>>,
  context: Context.Context<never>,
  count: () => number
) => registerReadOnly(metric, context, () => ({ count: count(), incremental: true }))

/**
 * A histogram's buckets, count, sum and extremes, kept in constant memory.
 *
 * @category models
 * @since 0.1.0
 */
export class HistogramSeries {
  private readonly counts: Float64Array
  private readonly boundaries: ReadonlyArray<number>
  count = 0
  sum = 0
  min = Infinity
  max = -Infinity

  constructor(boundaries: ReadonlyArray<number>) {
    this.boundaries = boundaries
    this.counts = new Float64Array(boundaries.length)
  }

  add(value: number): void {
    this.count++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
    // A plain loop: this runs on every operation, and a callback per call costs more than the search.
    for (let i = 0; i < this.boundaries.length; i++) {
      if (value <= this.boundaries[i]!) {
        this.counts[i]!++
        return
      }
    }
  }

  state(): Metric.HistogramState {
    let cumulative = 0
    const buckets: Array<[number, number]> = this.boundaries.map((boundary, i) => {
      cumulative += this.counts[i]!
      return [boundary, cumulative]
    })
    buckets.push([Infinity, this.count])
    return {
      buckets,
      count: this.count,
      min: this.count === 0 ? 0 : this.min,
      max: this.count === 0 ? 0 : this.max,
      sum: this.sum
    }
  }
}
