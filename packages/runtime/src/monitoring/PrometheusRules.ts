/**
 * Prometheus recording and alerting rules for a fleet of mcp-apm instances,
 * generated from the metric definitions. They compute server-side what the
 * in-process detector computes for one instance: a rolling baseline of each
 * operation's mean duration and the z-score of the last five minutes
 * against it. Alerts wait (`for`) until a condition has held for a while,
 * because an alert that fires on one scrape is an alert people learn to
 * ignore.
 *
 * @since 0.1.0
 */
import { ApmConfig, ApmMetrics } from "@mcp-apm/core"

const { definitions } = ApmMetrics
const by = "operation_name, operation_type"

/**
 * Names of the recorded series, for dashboards and tests.
 *
 * @category constants
 * @since 0.1.0
 */
export const recorded = {
  operationRate: "apm:operations:rate5m",
  errorRatio: "apm:errors:ratio_rate5m",
  p95: "apm:operation_duration_seconds:p95_5m",
  mean: "apm:operation_duration_seconds:mean_5m",
  baselineMean: "apm:operation_duration_seconds:mean_5m:avg_1d",
  baselineStddev: "apm:operation_duration_seconds:mean_5m:stddev_1d",
  zScore: "apm:operation_duration_seconds:zscore"
} as const

interface Rule {
  readonly record?: string
  readonly alert?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}

/**
 * The rule file as a plain object, ready to be written as YAML. Thresholds
 * are the defaults of `ApmConfig` unless given.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: ApmConfig.ApmOptions = ApmConfig.defaults): {
  readonly groups: ReadonlyArray<{ readonly name: string; readonly rules: ReadonlyArray<Rule> }>
} => {
  const duration = definitions.duration.name
  const slow = [
    `${recorded.p95}{operation_type="database_query"} > ${options.databaseQueryThreshold}`,
    `${recorded.p95}{operation_type="external_api"} > ${options.externalApiThreshold}`,
    `${recorded.p95}{operation_type!~"database_query|external_api"} > ${options.slowRequestThreshold}`
  ].join("\nor\n")
  return {
    groups: [
      {
        // One group, recording rules first: rules of a group run in order, so every alert sees
        // the series recorded at the same evaluation, never those of the one before.
        name: "mcp-apm",
        rules: [
          { record: recorded.operationRate, expr: `sum by (${by}) (rate(${definitions.operations.name}[5m]))` },
          {
            record: recorded.errorRatio,
            expr: `sum by (${by}) (rate(${definitions.errors.name}[5m]))\n/\nsum by (${by}) (rate(${definitions.operations.name}[5m]))`
          },
          {
            record: recorded.p95,
            expr: `histogram_quantile(0.95, sum by (${by}, le) (rate(${duration}_bucket[5m])))`
          },
          {
            record: recorded.mean,
            expr: `sum by (${by}) (rate(${duration}_sum[5m]))\n/\nsum by (${by}) (rate(${duration}_count[5m]))`
          },
          { record: recorded.baselineMean, expr: `avg_over_time(${recorded.mean}[1d])` },
          { record: recorded.baselineStddev, expr: `stddev_over_time(${recorded.mean}[1d])` },
          {
            record: recorded.zScore,
            expr: `(${recorded.mean} - ${recorded.baselineMean})\n/\nclamp_min(${recorded.baselineStddev}, 0.001)`
          },
          {
            alert: "ApmHighErrorRate",
            expr: `${recorded.errorRatio} > ${options.errorRateThreshold}\nand\n${recorded.operationRate} > 0.1`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.operation_name }} fails often",
              description:
                "{{ $labels.operation_name }} ({{ $labels.operation_type }}) has had {{ $value | humanizePercentage }} errors over 5 minutes for 10 minutes."
            }
          },
          {
            alert: "ApmSlowOperation",
            expr: slow,
            for: "15m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.operation_name }} is slow",
              description:
                "The p95 duration of {{ $labels.operation_name }} ({{ $labels.operation_type }}) is {{ $value | humanizeDuration }}, over the slow threshold of its type, for 15 minutes."
            }
          },
          {
            alert: "ApmLatencyAnomaly",
            expr: `${recorded.zScore} > ${Math.max(3, options.anomalyDetectionSensitivity)}\nand\n${recorded.operationRate} > 0.1`,
            for: "15m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.operation_name }} is slower than its baseline",
              description:
                "The mean duration of {{ $labels.operation_name }} over 5 minutes is {{ $value | printf \"%.1f\" }} standard deviations above its one-day baseline, for 15 minutes."
            }
          },
          {
            alert: "ApmHighMemoryUsage",
            expr: `${definitions.resource.name}{resource="memory_used_fraction"} > ${options.memoryUsageThreshold}`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
              summary: "{{ $labels.instance }} uses most of its memory",
              description:
                "{{ $labels.instance }} has used {{ $value | humanizePercentage }} of its memory limit (cgroup or machine) for 10 minutes."
            }
          },
          {
            alert: "ApmAnomalyRaised",
            // The detector's severity moves to its own label: `severity` is the alert's.
            expr: `sum by (${by}, anomaly_severity) (label_replace(increase(${definitions.anomalies.name}{severity=~"ERROR|CRITICAL"}[10m]), "anomaly_severity", "$1", "severity", "(.*)")) > 0`,
            labels: { severity: "warning" },
            annotations: {
              summary: "mcp-apm raised an anomaly on {{ $labels.operation_name }}",
              description:
                "The in-process detector raised a {{ $labels.anomaly_severity }} anomaly on {{ $labels.operation_name }}."
            }
          }
        ]
      }
    ]
  }
}
