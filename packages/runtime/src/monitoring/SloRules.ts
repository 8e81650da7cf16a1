/**
 * Service-level objectives per operation, alerted on in the multiwindow,
 * multi-burn-rate style of the Google SRE workbook (chapter 5, "Alerting on
 * SLOs"): an alert fires when the error budget burns fast over a long
 * window and is still burning over a short one, so that it pages within
 * minutes of a real outage and stops soon after the outage ends. Two SLIs:
 * availability (operations that did not fail) and latency (operations that
 * finished under their type's slow threshold, as `apm_slow_operations_total`
 * counts them in process, at the exact threshold rather than a bucket edge).
 *
 * @since 0.1.0
 */
import { ApmMetrics } from "@mcp-apm/core"
import { percent, promDuration } from "./internal/format.ts"
import { byOperation, type Rule, type RuleGroup } from "./internal/ruleFile.ts"
import * as RuleOptions from "./RuleOptions.ts"

const { definitions } = ApmMetrics
const minute = 60
const hour = 60 * minute

/**
 * The workbook's table for a 30-day objective: how many times faster than
 * sustainable the budget burns, over which windows, and who is told. 14.4
 * over an hour spends 2 % of the month's budget; 1 over three days, 10 %.
 *
 * @category constants
 * @since 0.1.0
 */
export const burnRates: ReadonlyArray<{
  readonly severity: "critical" | "warning"
  readonly burnRate: number
  readonly longSeconds: number
  readonly shortSeconds: number
  readonly forSeconds: number
}> = [
  { severity: "critical", burnRate: 14.4, longSeconds: 1 * hour, shortSeconds: 5 * minute, forSeconds: 2 * minute },
  { severity: "critical", burnRate: 6, longSeconds: 6 * hour, shortSeconds: 30 * minute, forSeconds: 15 * minute },
  { severity: "warning", burnRate: 3, longSeconds: 24 * hour, shortSeconds: 2 * hour, forSeconds: 1 * hour },
  { severity: "warning", burnRate: 1, longSeconds: 72 * hour, shortSeconds: 6 * hour, forSeconds: 3 * hour }
]

const indicators = [
  {
    name: "availability",
    alert: "ApmAvailabilityBudgetBurn",
    bad: definitions.errors.name,
    objective: (o: RuleOptions.RuleOptions) => o.availabilityObjective,
    what: "failed"
  },
  {
    name: "latency",
    alert: "ApmLatencyBudgetBurn",
    bad: definitions.slow.name,
    objective: (o: RuleOptions.RuleOptions) => o.latencyObjective,
    what: "were slower than the slow threshold of their type"
  }
] as const

/**
 * The recorded share of bad operations of an SLI over a window.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ratioName = (indicator: "availability" | "latency", window: string): string =>
  `job_operation:apm_slo_${indicator}_errors:ratio_rate${window}`

const windowsOf = (options: RuleOptions.RuleOptions) =>
  [...new Set(burnRates.flatMap((b) => [b.shortSeconds, b.longSeconds]))].sort((a, b) => a - b).map((s) =>
    RuleOptions.duration(options, s)
  )

/**
 * The share of operations an objective allows to be bad, to 12 significant
 * digits so that 1 - 0.999 prints 0.001, not 0.0010000000000000009.
 *
 * @category constructors
 * @since 0.1.0
 */
export const errorBudget = (objective: number): number => Number((1 - objective).toPrecision(12))

/**
 * The SLI ratios over every window the burn-rate alerts read.
 *
 * @category constructors
 * @since 0.1.0
 */
export const recording = (options: RuleOptions.RuleOptions): RuleGroup => ({
  name: "mcp-apm.slo.recording",
  rules: indicators.flatMap((indicator) =>
    windowsOf(options).map((window): Rule => ({
      record: ratioName(indicator.name, window),
      expr: `sum by (${byOperation}) (rate(${indicator.bad}[${window}]))\n/\nsum by (${byOperation}) (rate(${definitions.operations.name}[${window}]))`
    }))
  )
})

/**
 * One alert per SLI and row of `burnRates`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const alerts = (options: RuleOptions.RuleOptions): RuleGroup => ({
  name: "mcp-apm.slo.alerts",
  rules: indicators.flatMap((indicator) => {
    const objective = indicator.objective(options)
    const budget = errorBudget(objective)
    return burnRates.map((row): Rule => {
      const long = RuleOptions.duration(options, row.longSeconds)
      const short = RuleOptions.duration(options, row.shortSeconds)
      const threshold = `(${row.burnRate} * ${budget})`
      return {
        alert: indicator.alert,
        expr: `${ratioName(indicator.name, long)} > ${threshold}\nand\n${ratioName(indicator.name, short)} > ${threshold}`,
        for: RuleOptions.duration(options, row.forSeconds),
        labels: { severity: row.severity, slo: indicator.name, long_window: long, short_window: short },
        annotations: {
          summary: `{{ $labels.operation_name }} is spending its ${indicator.name} error budget ${row.burnRate} times too fast`,
          // No $value: the ratios are recorded in another group, evaluated a moment before or
          // after this one, and a description should not depend on which.
          description:
            `More than ${percent(row.burnRate * budget)}% of the operations of {{ $labels.operation_name }} ({{ $labels.operation_type }}, job {{ $labels.job }}) ${indicator.what} over the last ${long} and the last ${short}: ` +
            `${row.burnRate} times the ${percent(budget)}% that a ${percent(objective)}% objective allows, which spends a 30-day budget in ${
              promDuration(30 * 86_400 / row.burnRate)
            }.`
        }
      }
    })
  })
})
