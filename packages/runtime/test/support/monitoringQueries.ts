/**
 * Every PromQL expression `monitoring/` ships (panel queries, annotation
 * queries, rule expressions), with Grafana's variables given values, so
 * that tests can parse them (promtool), run them (Prometheus) and check
 * the names in them against a real `/metrics`.
 */
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard"
import { parse } from "yaml"
import { dashboards, ruleFiles } from "../../src/monitoring/files.ts"
import type * as RuleOptions from "../../src/monitoring/RuleOptions.ts"

export interface Expression {
  readonly where: string
  readonly expr: string
}

/** Values for the variables of a dashboard: all jobs, instances and operations, textboxes at their default. */
const substitute = (d: dashboard.Dashboard, expr: string) => {
  let text = expr.replaceAll("$__rate_interval", "1m")
  for (const v of d.templating.list ?? []) {
    const value = v.type === "textbox" ? String(v.query) : ".*"
    text = text.replaceAll(`$${v.name}`, value)
  }
  return text
}

export const dashboardExpressions = (): ReadonlyArray<Expression> =>
  Object.entries(dashboards()).flatMap(([file, d]) => [
    ...(d.panels ?? []).flatMap((p) =>
      "targets" in p ? (p.targets ?? []).map((t) => ({ where: `${file}: ${p.title}`, expr: substitute(d, "expr" in t ? String(t.expr) : "") })) : []
    ),
    ...(d.annotations.list ?? []).map((a) => ({ where: `${file}: annotation ${a.name}`, expr: substitute(d, String(a.expr)) }))
  ])

export interface ParsedRule {
  readonly record?: string
  readonly alert?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}

export const rules = (options?: RuleOptions.RuleOptions): ReadonlyArray<ParsedRule & { readonly file: string }> =>
  Object.entries(ruleFiles(options)).flatMap(([file, content]) =>
    (parse(content) as { groups: Array<{ rules: Array<ParsedRule> }> }).groups.flatMap((g) => g.rules.map((r) => ({ ...r, file })))
  )

export const ruleExpressions = (): ReadonlyArray<Expression> =>
  rules().map((r) => ({ where: `${r.file}: ${r.record ?? r.alert}`, expr: r.expr }))
