/**
 * A Grafana dashboard over the core metrics and the recorded series of
 * `PrometheusRules`: what is busy, failing, slow, anomalous or hungry.
 *
 * @since 0.1.0
 */
import { ApmMetrics } from "@mcp-apm/core"
import {
  GitWorktreeApm,
  ModelRouterApm,
  PlanManagementApm,
  VerificationFeedbackApm,
  WorkflowOrchestratorApm
} from "@mcp-apm/services"
import { recorded } from "./PrometheusRules.ts"

const { definitions } = ApmMetrics
const datasource = { type: "prometheus", uid: "${datasource}" }

const panel = (
  id: number,
  title: string,
  unit: string,
  expr: string,
  legend: string,
  grid: { x: number; y: number; w?: number }
) => ({
  id,
  title,
  type: "timeseries",
  datasource,
  gridPos: { h: 8, w: 12, ...grid },
  fieldConfig: { defaults: { unit }, overrides: [] },
  targets: [{ refId: "A", datasource, expr, legendFormat: legend }]
})

const selector = `operation_name=~"$operation"`

/**
 * The MCP service metrics, one row per service: the rate of each counter and
 * the p95 of each duration histogram, named as Prometheus shows them.
 *
 * @category constructors
 * @since 0.1.0
 */
export const serviceQueries = (): ReadonlyArray<{ readonly service: string; readonly title: string; readonly unit: string; readonly expr: string }> =>
  Object.entries({
    "Model router": ModelRouterApm.definitions,
    "Plan management": PlanManagementApm.definitions,
    "Git worktree": GitWorktreeApm.definitions,
    "Workflow orchestrator": WorkflowOrchestratorApm.definitions,
    "Verification feedback": VerificationFeedbackApm.definitions
  }).flatMap(([service, definitions]) =>
    Object.values(definitions as Record<string, { readonly name: string; readonly description: string }>).flatMap(
      ({ name, description }) => {
        const metric = name.replace(/[^a-zA-Z0-9_:]/g, "_")
        if (metric.endsWith("_total")) {
          return [{ service, title: description, unit: "ops", expr: `sum(rate(${metric}[$__rate_interval]))` }]
        }
        if (metric.endsWith("_seconds")) {
          return [{
            service,
            title: `p95: ${description}`,
            unit: "s",
            expr: `histogram_quantile(0.95, sum by (le) (rate(${metric}_bucket[$__rate_interval])))`
          }]
        }
        return []
      }
    )
  )

/**
 * The dashboard model, ready to be written as JSON and imported.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = () => ({
  title: "mcp-apm",
  uid: "mcp-apm",
  schemaVersion: 39,
  version: 1,
  editable: true,
  time: { from: "now-6h", to: "now" },
  refresh: "30s",
  tags: ["mcp-apm", "apm"],
  templating: {
    list: [
      { name: "datasource", type: "datasource", query: "prometheus", label: "Data source" },
      {
        name: "operation",
        type: "query",
        datasource,
        query: `label_values(${definitions.operations.name}, operation_name)`,
        includeAll: true,
        multi: true,
        allValue: ".*",
        refresh: 2
      }
    ]
  },
  panels: [
    panel(1, "Operations per second", "ops", `${recorded.operationRate}{${selector}}`, "{{operation_name}}", {
      x: 0,
      y: 0
    }),
    panel(2, "Error ratio", "percentunit", `${recorded.errorRatio}{${selector}}`, "{{operation_name}}", {
      x: 12,
      y: 0
    }),
    panel(3, "p95 duration", "s", `${recorded.p95}{${selector}}`, "{{operation_name}}", { x: 0, y: 8 }),
    panel(4, "Duration z-score against the 1-day baseline", "short", `${recorded.zScore}{${selector}}`, "{{operation_name}}", {
      x: 12,
      y: 8
    }),
    panel(5, "Operations in flight", "short", `sum by (operation_name) (${definitions.active.name}{${selector}})`, "{{operation_name}}", {
      x: 0,
      y: 16
    }),
    panel(
      6,
      "Anomalies raised",
      "short",
      `sum by (operation_name, severity) (increase(${definitions.anomalies.name}{${selector}}[$__rate_interval]))`,
      "{{operation_name}} {{severity}}",
      { x: 12, y: 16 }
    ),
    panel(7, "Resource usage", "short", `${definitions.resource.name}`, "{{resource}}", { x: 0, y: 24 }),
    panel(
      8,
      "Slow operations per second",
      "ops",
      `sum by (operation_name) (rate(${definitions.slow.name}{${selector}}[$__rate_interval]))`,
      "{{operation_name}}",
      { x: 12, y: 24 }
    ),
    ...serviceQueries().map((q, i) =>
      panel(100 + i, `${q.service}: ${q.title}`, q.unit, q.expr, q.service, { x: (i % 3) * 8, y: 32 + 8 * Math.floor(i / 3), w: 8 })
    )
  ]
})
