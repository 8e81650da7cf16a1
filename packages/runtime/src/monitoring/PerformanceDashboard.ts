/**
 * The overall Grafana dashboard (`performance-dashboard.json`): per
 * operation across the selected jobs and instances, the rate, the p50, p95
 * and p99 durations, the error ratio, slow and in-flight operations, the
 * server-side z-score and the SLO burn rates, with the anomalies the
 * in-process detectors raised and the alerts that fired drawn as
 * annotations.
 *
 * @since 0.1.0
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard"
import { ApmMetrics } from "@mcp-apm/core"
import { percent } from "./internal/format.ts"
import * as Grafana from "./internal/grafana.ts"
import { recorded } from "./RecordingRules.ts"
import * as RuleOptions from "./RuleOptions.ts"
import * as SloRules from "./SloRules.ts"

const { definitions } = ApmMetrics
const rate = (metric: string) =>
  `sum by (operation_name) (rate(${metric}{${Grafana.operationSelector()}}[$__rate_interval]))`
const quantile = (q: number) => ({
  expr: `histogram_quantile(${q}, sum by (operation_name, le) (rate(${definitions.duration.name}_bucket{${Grafana.operationSelector()}}[$__rate_interval])))`,
  legend: `{{operation_name}} p${q * 100}`
})

/** The recorded series carry no instance: they pool the instances of a job. */
const fleetSelector = `job=~"$job",operation_name=~"$operation"`

const raised = `${definitions.anomalies.name}{${Grafana.operationSelector()}}`

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: RuleOptions.RuleOptions = RuleOptions.defaults): dashboard.Dashboard => {
  const names = recorded(options)
  const burn = (indicator: "availability" | "latency", objective: number) => ({
    expr: `${SloRules.ratioName(indicator, RuleOptions.duration(options, 3600))}{${fleetSelector}} / ${
      SloRules.errorBudget(objective)
    }`,
    legend: `{{operation_name}} ${indicator}`
  })
  const builder = Grafana.make(
    "mcp-apm-performance",
    "mcp-apm / Performance",
    "Every traced operation across the selected jobs and instances: how busy, how fast, how often failing, how far from its baseline."
  )
    .variables([...Grafana.variables(definitions.operations.name, {})])
    .annotations([
      new dashboard.AnnotationQueryBuilder()
        .name("Anomalies")
        .datasource(Grafana.datasource)
        .enable(true)
        .iconColor("orange")
        // A counter appears at its first increment, which increase() cannot see.
        .expr(
          `sum by (instance, operation_name, severity) ((${raised} unless ${raised} offset 1m) or increase(${raised}[1m])) > 0`
        )
        .step("1m")
        .titleFormat("{{severity}} anomaly on {{operation_name}}")
        .textFormat("{{instance}}")
        .tagKeys("severity,operation_name,instance"),
      new dashboard.AnnotationQueryBuilder()
        .name("Alerts")
        .datasource(Grafana.datasource)
        .enable(true)
        .iconColor("red")
        .expr(`ALERTS{alertname=~"Apm.*",alertstate="firing",job=~"$job"}`)
        .step("1m")
        .titleFormat("{{alertname}}")
        .textFormat("{{operation_name}}{{instance}}")
        .tagKeys("alertname,severity")
    ])
    .withRow(new dashboard.RowBuilder("Traffic and errors"))
    .withPanel(Grafana.panel("Operations per second", "ops", [{ expr: rate(definitions.operations.name), legend: "{{operation_name}}" }]))
    .withPanel(
      Grafana.panel("Error ratio", "percentunit", [{
        expr: `${rate(definitions.errors.name)}\n/\n${rate(definitions.operations.name)}`,
        legend: "{{operation_name}}"
      }])
    )
    .withPanel(
      Grafana.panel("Slow operations per second", "ops", [{ expr: rate(definitions.slow.name), legend: "{{operation_name}}" }], {
        description: "Operations slower than the slow threshold of their type."
      })
    )
    .withPanel(
      Grafana.panel("Operations in flight", "short", [{
        expr: `sum by (operation_name) (${definitions.active.name}{${Grafana.operationSelector()}})`,
        legend: "{{operation_name}}"
      }])
    )
    .withRow(new dashboard.RowBuilder("Latency"))
    .withPanel(Grafana.panel("p50 duration", "s", [quantile(0.5)], { width: 8 }))
    .withPanel(Grafana.panel("p95 duration", "s", [quantile(0.95)], { width: 8 }))
    .withPanel(Grafana.panel("p99 duration", "s", [quantile(0.99)], { width: 8 }))
    .withRow(new dashboard.RowBuilder("Anomalies and objectives"))
    .withPanel(
      Grafana.panel("Anomalies raised", "short", [{
        expr: `sum by (operation_name, severity) (increase(${raised}[$__rate_interval]))`,
        legend: "{{operation_name}} {{severity}}"
      }], { description: "Anomaly records of the in-process detectors." })
    )
    .withPanel(
      Grafana.panel("Duration z-score against the baseline", "short", [{
        expr: `${names.zScore}{${fleetSelector}}`,
        legend: "{{operation_name}}"
      }], { description: "The server-side baseline of the recording rules: standard deviations above the mean duration of the last day." })
    )
    .withPanel(
      Grafana.panel("Error budget burn rate (1h)", "short", [
        burn("availability", options.availabilityObjective),
        burn("latency", options.latencyObjective)
      ], {
        description: `How many times faster than sustainable each operation spends its error budget: 1 spends a 30-day budget in 30 days. Objectives: ${
          percent(options.availabilityObjective)
        }% availability, ${percent(options.latencyObjective)}% under the slow threshold.`
      })
    )
  return builder.build()
}
