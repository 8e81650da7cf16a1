/**
 * How the service APMs define and update their metrics: every metric from a
 * `{ name, description }` definition (so HELP is never missing and the
 * definitions can be listed), counters increment-only, labels given per
 * update.
 *
 * @internal
 */
import { ApmMetrics } from "@mcp-apm/core"
import { Effect, Metric } from "effect"

/** @internal */
export interface MetricDefinition {
  readonly name: string
  readonly description: string
}

/** Buckets for scores and ratios in [0, 1]. @internal */
export const fractionBuckets: ReadonlyArray<number> = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1]

/** @internal */
export const counter = (d: MetricDefinition): Metric.Counter<number> =>
  Metric.counter(d.name, { description: d.description, incremental: true })

/** @internal */
export const gauge = (d: MetricDefinition): Metric.Gauge<number> => Metric.gauge(d.name, { description: d.description })

/** @internal */
export const histogram = (d: MetricDefinition, boundaries: ReadonlyArray<number>): Metric.Histogram<number> =>
  Metric.histogram(d.name, { description: d.description, boundaries })

/**
 * A histogram of durations in seconds on the core's buckets, so that service
 * and core durations line up on dashboards.
 *
 * @internal
 */
export const durationHistogram = (d: MetricDefinition): Metric.Histogram<number> =>
  histogram(d, ApmMetrics.durationBuckets)

/** Adds to a counter, sets a gauge or observes a histogram value, in the series of `labels`. @internal */
export const update = (
  metric: Metric.Metric<number, unknown>,
  labels: Record<string, string>,
  value: number
): Effect.Effect<void> => Metric.update(Metric.withAttributes(metric, labels), value)
