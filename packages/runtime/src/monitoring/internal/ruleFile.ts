/**
 * The shape of a Prometheus rule file, as `promtool check rules` reads it,
 * and the label sets the rules aggregate by.
 */

/** A recording rule (`record`) or an alerting rule (`alert`). */
export interface Rule {
  readonly record?: string
  readonly alert?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
}

export interface RuleGroup {
  readonly name: string
  readonly rules: ReadonlyArray<Rule>
}

export interface RuleFile {
  readonly groups: ReadonlyArray<RuleGroup>
}

/** One operation across the fleet: the instances of a job are pooled. */
export const byOperation = "job, operation_name, operation_type"

/** One operation on one instance: what the in-process detector sees. */
export const byInstanceOperation = "job, instance, operation_name, operation_type"

