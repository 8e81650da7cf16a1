/**
 * What the mcp-apm dashboards share, on Grafana's typed builders: the
 * Prometheus data source variable, the job, instance and operation
 * variables, the links between the dashboards, the label selector that
 * applies the variables, and a time-series panel of PromQL queries.
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard"
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus"
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries"
import { ApmMetrics } from "@mcp-apm/core"

/** Every mcp-apm dashboard carries this tag; the links find each other by it. */
export const tag = "mcp-apm"

export const datasource = { type: "prometheus", uid: "${datasource}" }

const query = (name: string, label: string, expr: string) =>
  new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(datasource)
    .query(expr)
    .definition(expr)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(".*")

/**
 * The data source, job and instance variables, read from `metric`, and an
 * operation variable when the dashboard has per-operation panels.
 */
export const variables = (
  metric: string,
  operation?: { readonly type?: string }
): ReadonlyArray<dashboard.QueryVariableBuilder | dashboard.DatasourceVariableBuilder> => [
  new dashboard.DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"),
  query("job", "Job", `label_values(${metric}, job)`),
  query("instance", "Instance", `label_values(${metric}{job=~"$job"}, instance)`),
  ...(operation === undefined ? [] : [
    query(
      "operation",
      "Operation",
      `label_values(${ApmMetrics.definitions.operations.name}{${
        selector(operation.type === undefined ? {} : { operation_type: operation.type })
      }}, operation_name)`
    )
  ])
]

/** The `job` and `instance` variables as matchers, with `extra` exact matchers after them. */
export const selector = (extra: Readonly<Record<string, string>> = {}): string =>
  [`job=~"$job"`, `instance=~"$instance"`, ...Object.entries(extra).map(([k, v]) => `${k}="${v}"`)].join(",")

/** `selector` with the operation variable too. */
export const operationSelector = (extra: Readonly<Record<string, string>> = {}): string =>
  `${selector(extra)},operation_name=~"$operation"`

/** A dropdown of the other mcp-apm dashboards, keeping the time range and the variables. */
export const links = (): ReadonlyArray<dashboard.DashboardLinkBuilder> => [
  new dashboard.DashboardLinkBuilder("mcp-apm dashboards")
    .type(dashboard.DashboardLinkType.Dashboards)
    .tags([tag])
    .asDropdown(true)
    .includeVars(true)
    .keepTime(true)
]

/** One PromQL query of a panel, drawn as a series per `legend`. */
export interface Query {
  readonly expr: string
  readonly legend: string
}

export type PanelBuilder = timeseries.PanelBuilder

/** A time-series panel of one or more queries. */
export const panel = (
  title: string,
  unit: string,
  queries: ReadonlyArray<Query>,
  options: { readonly description?: string; readonly width?: number } = {}
): timeseries.PanelBuilder => {
  const built = new timeseries.PanelBuilder()
    .title(title)
    .datasource(datasource)
    .unit(unit)
    .span(options.width ?? 12)
    .height(8)
    .targets(
      queries.map((q, i) =>
        new prometheus.DataqueryBuilder()
          .datasource(datasource)
          .refId(String.fromCharCode(65 + i))
          .expr(q.expr)
          .legendFormat(q.legend)
          .range()
      )
    )
  return options.description === undefined ? built : built.description(options.description)
}

/** A dashboard with the shared settings: tag, links, time range, refresh. */
export const make = (uid: string, title: string, description: string): dashboard.DashboardBuilder =>
  new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([tag])
    .editable()
    .time({ from: "now-6h", to: "now" })
    .refresh("30s")
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .links([...links()])
