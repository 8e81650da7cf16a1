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
      "targets" in p
        ? (p.targets ?? []).map((t) => ({
          where: `${file}: ${p.title}`,
          expr: substitute(d, "expr" in t ? String(t.expr) : "")
        }))
        : []
    ),
    ...(d.annotations.list ?? []).map((a) => ({
      where: `${file}: annotation ${a.name}`,
      expr: substitute(d, String(a.expr))
    }))
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
    (parse(content) as { groups: Array<{ rules: Array<ParsedRule> }> }).groups.flatMap((g) =>
      g.rules.map((r) => ({ ...r, file }))
    )
  )

export const ruleExpressions = (): ReadonlyArray<Expression> =>
  rules().map((r) => ({ where: `${r.file}: ${r.record ?? r.alert}`, expr: r.expr }))

/** What an expression refers to: metric names, label names, labels it creates, and exact label matchers. */
export interface References {
  readonly metrics: ReadonlySet<string>
  readonly labels: ReadonlySet<string>
  readonly created: ReadonlySet<string>
  readonly matchers: ReadonlyArray<{ readonly metric: string; readonly label: string; readonly value: string }>
}

const keywords = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "offset",
  "bool",
  "inf",
  "nan"
])

/**
 * A reader of the PromQL these files use, not a parser of all PromQL:
 * selectors with matchers, grouping clauses and label_replace.
 */
export const references = (expr: string): References => {
  const labels = new Set<string>()
  const created = new Set<string>()
  const matchers: Array<{ metric: string; label: string; value: string }> = []
  for (const m of expr.matchAll(/label_replace\([\s\S]*?,\s*"(\w+)"\s*,\s*"[^"]*"\s*,\s*"(\w+)"/g)) {
    created.add(m[1]!)
    labels.add(m[2]!)
  }
  for (const m of expr.matchAll(/([a-zA-Z_:][\w:]*)?\{([^}]*)\}/g)) {
    for (const matcher of m[2]!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
      labels.add(matcher[1]!)
      if (matcher[2] === "=" && m[1] !== undefined) {
        matchers.push({ metric: m[1], label: matcher[1]!, value: matcher[3]! })
      }
    }
  }
  for (const m of expr.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const l of m[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "")) labels.add(l)
  }
  const bare = expr
    .replace(/"[^"]*"/g, "\"\"")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/\[[^\]]*\]/g, "")
  const metrics = new Set<string>()
  for (const m of bare.matchAll(/(?<![\w.$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)) {
    if (!keywords.has(m[1]!.toLowerCase()) && !/^\d/.test(m[1]!)) metrics.add(m[1]!)
  }
  for (const d of bare.matchAll(/\boffset\s+(\w+)/g)) metrics.delete(d[1]!)
  return { metrics, labels, created, matchers }
}

/** The labels a Grafana legend or an alert annotation template reads. */
export const templateLabels = (text: string): ReadonlyArray<string> => [
  ...[...text.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!),
  ...[...text.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!)
]

/** Legends of the panel queries, by dashboard and panel. */
export const dashboardLegends = (): ReadonlyArray<
  { readonly where: string; readonly expr: string; readonly legend: string }
> =>
  Object.entries(dashboards()).flatMap(([file, d]) =>
    (d.panels ?? []).flatMap((p) =>
      "targets" in p
        ? (p.targets ?? []).map((t) => ({
          where: `${file}: ${p.title}`,
          expr: "expr" in t ? String(t.expr) : "",
          legend: "legendFormat" in t ? String(t.legendFormat) : ""
        }))
        : []
    )
  )

/** The `label_values(selector, label)` queries of the dashboards' variables, as a selector and a label. */
export const variableQueries = (): ReadonlyArray<
  { readonly where: string; readonly expr: string; readonly label: string }
> =>
  Object.entries(dashboards()).flatMap(([file, d]) =>
    (d.templating.list ?? []).flatMap((v) => {
      const match = v.type === "query" ? /^label_values\((.*), (\w+)\)$/.exec(String(v.query)) : null
      return match === null
        ? []
        : [{ where: `${file}: variable ${v.name}`, expr: substitute(d, match[1]!), label: match[2]! }]
    })
  )
