/**
 * Prometheus alerting rules for a fleet of mcp-apm instances, one per kind
 * of trouble the seed names: a slow operation, a high error rate, high CPU,
 * high memory, an anomaly raised by the in-process detector, and a
 * server-side baseline deviation. Each waits (`for:`) until its condition
 * has held for a while, because an alert that fires on one scrape is an
 * alert people learn to ignore, and each carries a `severity` label and a
 * summary and description for whoever is paged.
 *
 * @since 0.1.0
 */
import { ApmMetrics, OperationType } from "@mcp-apm/core"
import { percent } from "./internal/format.ts"
import { byInstanceOperation, type Rule, type RuleGroup } from "./internal/ruleFile.ts"
import { recorded } from "./RecordingRules.ts"
import * as RuleOptions from "./RuleOptions.ts"

const { definitions } = ApmMetrics

const resource = (name: string) => `max by (job, instance) (${definitions.resource.name}{resource="${name}"})`

/**
 * The p95 of each operation against the slow threshold of its type: one
 * clause per distinct threshold, the types that share it matched together.
 */
const slowCondition = (options: RuleOptions.RuleOptions, p95: string) => {
  const typesByThreshold = new Map<number, Array<string>>()
  for (const type of OperationType.operationTypes) {
    const threshold = OperationType.slowThreshold(options.thresholds, type)
    typesByThreshold.set(threshold, [...(typesByThreshold.get(threshold) ?? []), type])
  }
  return [...typesByThreshold].map(([threshold, types]) => `${p95}{operation_type=~"${types.join("|")}"} > ${threshold}`)
    .join("\nor\n")
}

/**
 * The alerting group. Thresholds come from `options.thresholds`, the
 * same `ApmConfig` values the in-process insights use.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: RuleOptions.RuleOptions): RuleGroup => {
  const names = recorded(options)
  const scaled = (seconds: number) => RuleOptions.duration(options, seconds)
  const { thresholds } = options
  const wait = options.seconds.for
  const anomalyWindow = scaled(options.seconds.anomaly)
  const raised = `${definitions.anomalies.name}{severity=~"ERROR|CRITICAL"}`
  const busy = `${names.operationRate} > ${options.minimumRate}`
  const deviation = Math.max(3, thresholds.anomalyDetectionSensitivity)
  const rules: ReadonlyArray<Rule> = [
    {
      alert: "ApmSlowOperation",
      expr: slowCondition(options, names.p95),
      for: scaled(wait.slowOperation),
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $labels.operation_name }} is slow",
        description:
          `The p95 duration of {{ $labels.operation_name }} ({{ $labels.operation_type }}, job {{ $labels.job }}) has been {{ $value | humanizeDuration }}, over the slow threshold of its type, for ${
            scaled(wait.slowOperation)
          }.`
      }
    },
    {
      alert: "ApmHighErrorRate",
      expr: `${names.errorRatio} > ${thresholds.errorRateThreshold}\nand\n${busy}`,
      for: scaled(wait.errorRate),
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $labels.operation_name }} fails often",
        description:
          `{{ $labels.operation_name }} ({{ $labels.operation_type }}, job {{ $labels.job }}) has failed in {{ $value | humanizePercentage }} of its operations, over ${percent(thresholds.errorRateThreshold)}%, for ${scaled(wait.errorRate)}.`
      }
    },
    {
      alert: "ApmHighCpuUsage",
      // The machine's CPU, as cpuUsageThreshold reads it in process.
      expr: `${resource("machine_cpu_percent")} / 100 > ${thresholds.cpuUsageThreshold}`,
      for: scaled(wait.cpu),
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $labels.instance }} is short of CPU",
        description:
          `The machine of {{ $labels.instance }} (job {{ $labels.job }}) has been {{ $value | humanizePercentage }} busy, over ${percent(thresholds.cpuUsageThreshold)}%, for ${scaled(wait.cpu)}.`
      }
    },
    {
      alert: "ApmHighMemoryUsage",
      // What counts against the cgroup or machine limit, or the rss where that is not known, as
      // memoryUsageThreshold reads it in process.
      expr: `(\n  ${resource("memory_used_fraction")}\n  or\n  ${resource("memory_rss_fraction")}\n) > ${thresholds.memoryUsageThreshold}`,
      for: scaled(wait.memory),
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $labels.instance }} uses most of its memory",
        description:
          `{{ $labels.instance }} (job {{ $labels.job }}) has used {{ $value | humanizePercentage }} of its memory limit (cgroup or machine), over ${percent(thresholds.memoryUsageThreshold)}%, for ${scaled(wait.memory)}.`
      }
    },
    {
      alert: "ApmAnomalyRaised",
      // A counter series is created at its first increment, so `increase` cannot see the first
      // anomaly of an operation and severity: a series that did not exist a window ago counts in
      // full, if its instance was scraped a window ago (else it is older than Prometheus knows,
      // and a restart of Prometheus would raise every anomaly of the past again). The
      // detector's severity moves to its own label: `severity` is the alert's.
      expr: `sum by (${byInstanceOperation}, anomaly_severity) (\n  label_replace(\n    ((${raised} unless ${raised} offset ${anomalyWindow}) and on (job, instance) up offset ${anomalyWindow})\n    or\n    increase(${raised}[${anomalyWindow}]),\n    "anomaly_severity", "$1", "severity", "(.*)"\n  )\n) > 0`,
      for: scaled(wait.anomaly),
      labels: { severity: "warning" },
      annotations: {
        summary: "mcp-apm raised an anomaly on {{ $labels.operation_name }} on {{ $labels.instance }}",
        description:
          `The in-process detector of {{ $labels.instance }} (job {{ $labels.job }}) raised {{ $value }} {{ $labels.anomaly_severity }} anomaly records on {{ $labels.operation_name }} ({{ $labels.operation_type }}) in the last ${anomalyWindow}.`
      }
    },
    {
      alert: "ApmBaselineDeviation",
      expr: `${names.zScore} > ${deviation}\nand\n${busy}`,
      for: scaled(wait.baselineDeviation),
      labels: { severity: "warning" },
      annotations: {
        summary: "{{ $labels.operation_name }} is slower than its baseline",
        // No $value: the z-score is recorded in another group, evaluated a moment before or after
        // this one, and a description should not depend on which.
        description:
          `The mean duration of {{ $labels.operation_name }} ({{ $labels.operation_type }}, job {{ $labels.job }}) over ${
            scaled(options.seconds.rate)
          } has been more than ${deviation} standard deviations above its ${
            scaled(options.seconds.baseline)
          } baseline for ${scaled(wait.baselineDeviation)}.`
      }
    }
  ]
  return { name: "mcp-apm.alerts", rules }
}
