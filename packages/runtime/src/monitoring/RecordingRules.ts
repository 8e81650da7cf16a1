/**
 * Prometheus recording rules for a fleet of mcp-apm instances: per
 * operation across the instances of a job, the rate, error ratio, p95 and
 * mean duration, and what the in-process detector computes for one
 * instance, server-side: a rolling baseline of the mean duration and the
 * z-score of the current window against it. Dashboards and alerts read the
 * recorded series, so that each expensive expression is evaluated once.
 *
 * @since 0.1.0
 */
import { ApmMetrics } from "@mcp-apm/core"
import { byOperation, type RuleGroup } from "./internal/ruleFile.ts"
import * as RuleOptions from "./RuleOptions.ts"

const { definitions } = ApmMetrics

/**
 * Names of the recorded series, `level:metric:operation` as Prometheus
 * names them; the windows in the names are the options' windows.
 *
 * @category constructors
 * @since 0.1.0
 */
export const recorded = (options: RuleOptions.RuleOptions) => {
  const rate = RuleOptions.duration(options, options.seconds.rate)
  const baseline = RuleOptions.duration(options, options.seconds.baseline)
  const mean = `job_operation:apm_operation_duration_seconds:mean_${rate}`
  return {
    operationRate: `job_operation:apm_operations:rate${rate}`,
    errorRatio: `job_operation:apm_errors:ratio_rate${rate}`,
    p95: `job_operation:apm_operation_duration_seconds:p95_${rate}`,
    mean,
    baselineMean: `${mean}:avg_over_time_${baseline}`,
    baselineStddev: `${mean}:stddev_over_time_${baseline}`,
    zScore: `${mean}:zscore_${baseline}`
  } as const
}

/**
 * The recording group, in evaluation order: a group runs its rules one
 * after the other, so each rule reads the series recorded before it at the
 * same evaluation.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: RuleOptions.RuleOptions): RuleGroup => {
  const names = recorded(options)
  const rate = RuleOptions.duration(options, options.seconds.rate)
  const baseline = RuleOptions.duration(options, options.seconds.baseline)
  const duration = definitions.duration.name
  return {
    name: "mcp-apm.recording",
    rules: [
      { record: names.operationRate, expr: `sum by (${byOperation}) (rate(${definitions.operations.name}[${rate}]))` },
      {
        record: names.errorRatio,
        expr: `sum by (${byOperation}) (rate(${definitions.errors.name}[${rate}]))\n/\n${names.operationRate}`
      },
      {
        record: names.p95,
        expr: `histogram_quantile(0.95, sum by (${byOperation}, le) (rate(${duration}_bucket[${rate}])))`
      },
      {
        record: names.mean,
        expr: `sum by (${byOperation}) (rate(${duration}_sum[${rate}]))\n/\nsum by (${byOperation}) (rate(${duration}_count[${rate}]))`
      },
      { record: names.baselineMean, expr: `avg_over_time(${names.mean}[${baseline}])` },
      { record: names.baselineStddev, expr: `stddev_over_time(${names.mean}[${baseline}])` },
      {
        // A flat baseline has no spread: the floor of 1 ms keeps the z-score finite, and a
        // change of a few microseconds on a very steady operation from reading as many sigmas.
        record: names.zScore,
        expr: `(${names.mean} - ${names.baselineMean})\n/\nclamp_min(${names.baselineStddev}, 0.001)`
      }
    ]
  }
}
