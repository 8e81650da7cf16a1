/**
 * One Grafana dashboard per MCP service: the APM view of the service's
 * operations (by its operation type) above the service's own metrics, as
 * its `@mcp-apm/services` module defines them. The model router's adds the
 * cache hit ratio derived from the lookup counters and an estimated cost at
 * token prices set on the dashboard.
 *
 * @since 0.1.0
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard"
import { ApmMetrics, type OperationType } from "@mcp-apm/core"
import {
  GitWorktreeApm,
  ModelRouterApm,
  PlanManagementApm,
  VerificationFeedbackApm,
  WorkflowOrchestratorApm
} from "@mcp-apm/services"
import * as Grafana from "./internal/grafana.ts"

/** A metric definition's name as Prometheus shows it: OpenTelemetry's dots become underscores. */
const promName = (definition: { readonly name: string }) => definition.name.replace(/[^a-zA-Z0-9_:]/g, "_")

const sel = Grafana.selector()
const rate = (definition: { readonly name: string }, by: string, extra = "") =>
  `sum by (${by}) (rate(${promName(definition)}{${sel}${extra}}[$__rate_interval]))`
const p95 = (definition: { readonly name: string }, by: string): Grafana.Query => ({
  expr: `histogram_quantile(0.95, sum by (${by}, le) (rate(${promName(definition)}_bucket{${sel}}[$__rate_interval])))`,
  legend: by.split(", ").map((l) => `{{${l}}}`).join(" ")
})
const rateQuery = (definition: { readonly name: string }, by: string): Grafana.Query => ({
  expr: rate(definition, by),
  legend: by.split(", ").map((l) => `{{${l}}}`).join(" ")
})

const operations = (type: OperationType.OperationType): ReadonlyArray<Grafana.PanelBuilder> => {
  const { definitions } = ApmMetrics
  const s = Grafana.operationSelector({ operation_type: type })
  const r = (name: string) => `sum by (operation_name) (rate(${name}{${s}}[$__rate_interval]))`
  return [
    Grafana.panel("Operations per second", "ops", [{ expr: r(definitions.operations.name), legend: "{{operation_name}}" }], {
      width: 8
    }),
    Grafana.panel("Error ratio", "percentunit", [{
      expr: `${r(definitions.errors.name)}\n/\n${r(definitions.operations.name)}`,
      legend: "{{operation_name}}"
    }], { width: 8 }),
    Grafana.panel("p95 duration", "s", [{
      expr: `histogram_quantile(0.95, sum by (operation_name, le) (rate(${definitions.duration.name}_bucket{${s}}[$__rate_interval])))`,
      legend: "{{operation_name}}"
    }], { width: 8 })
  ]
}

const modelRouter = (): ReadonlyArray<Grafana.PanelBuilder> => {
  const d = ModelRouterApm.definitions
  const tokens = (type: string) => rate(d.tokenUsage, "model", `,token_type="${type}"`)
  return [
    Grafana.panel("Model requests per second", "reqps", [rateQuery(d.requests, "model, status")]),
    Grafana.panel("p95 model request duration", "s", [p95(d.requestDuration, "model")]),
    Grafana.panel("Tokens per second", "short", [rateQuery(d.tokenUsage, "model, token_type")]),
    Grafana.panel(
      "Estimated cost per hour",
      "currencyUSD",
      [{
        expr: `(\n  ${tokens("input")} * $input_price_per_mtok\n  +\n  ${tokens("output")} * $output_price_per_mtok\n) * 3600 / 1e6`,
        legend: "{{model}}"
      }],
      { description: "Token rates at the prices per million tokens set in the variables above: an estimate, one price for all models." }
    ),
    Grafana.panel("Routing decisions per second", "ops", [rateQuery(d.routingDecisions, "model")]),
    Grafana.panel("Routing confidence", "percentunit", [
      {
        expr: `${rate({ name: `${promName(d.confidence)}_sum` }, "model")}\n/\n${rate({ name: `${promName(d.confidence)}_count` }, "model")}`,
        legend: "{{model}} mean"
      },
      {
        expr: `histogram_quantile(0.1, sum by (model, le) (rate(${promName(d.confidence)}_bucket{${sel}}[$__rate_interval])))`,
        legend: "{{model}} p10"
      }
    ]),
    Grafana.panel("Cache hit ratio", "percentunit", [
      {
        expr: `${rate(d.cacheLookups, "model", `,result="hit"`)}\n/\n${rate(d.cacheLookups, "model")}`,
        legend: "{{model}} over the interval"
      },
      { expr: `max by (model) (${promName(d.cacheHitRatio)}{${sel}})`, legend: "{{model}} since start" }
    ], { description: "Hits over lookups, from the lookup counters; and the instances' own ratio since they started." }),
    Grafana.panel("GenAI operation duration p95", "s", [p95(d.genAiOperationDuration, "gen_ai_request_model")]),
    Grafana.panel("GenAI tokens per request p95", "short", [p95(d.genAiTokenUsage, "gen_ai_request_model, gen_ai_token_type")])
  ]
}

const planManagement = (): ReadonlyArray<Grafana.PanelBuilder> => {
  const d = PlanManagementApm.definitions
  return [
    Grafana.panel("Task decompositions per second", "ops", [rateQuery(d.decompositions, "status")]),
    Grafana.panel("Tasks created per second", "ops", [{ expr: rate(d.tasksCreated, "job"), legend: "{{job}}" }]),
    Grafana.panel("p95 plan generation", "s", [p95(d.planGenerationDuration, "status")]),
    Grafana.panel("p95 consensus building", "s", [p95(d.consensusDuration, "mechanism")]),
    Grafana.panel("Plan storage operations per second", "ops", [rateQuery(d.storageOperations, "operation, status")]),
    Grafana.panel("p95 plan storage", "s", [p95(d.storageDuration, "operation")])
  ]
}

const gitWorktree = (): ReadonlyArray<Grafana.PanelBuilder> => {
  const d = GitWorktreeApm.definitions
  return [
    Grafana.panel("Git operations per second", "ops", [rateQuery(d.operations, "operation, status")]),
    Grafana.panel("p95 git operation", "s", [p95(d.operationDuration, "operation")]),
    Grafana.panel("Merges per second", "ops", [rateQuery(d.merges, "outcome")])
  ]
}

const workflowOrchestrator = (): ReadonlyArray<Grafana.PanelBuilder> => {
  const d = WorkflowOrchestratorApm.definitions
  return [
    Grafana.panel("Workflows finished per second", "ops", [rateQuery(d.workflowsExecuted, "definition, status")]),
    Grafana.panel("Active workflows", "short", [{
      expr: `sum by (state) (${promName(d.activeWorkflows)}{${sel}})`,
      legend: "{{state}}"
    }]),
    Grafana.panel("p95 workflow step", "s", [p95(d.stepDuration, "definition, step")]),
    Grafana.panel("p95 agent coordination", "s", [p95(d.agentCoordinationDuration, "pattern")])
  ]
}

const verificationFeedback = (): ReadonlyArray<Grafana.PanelBuilder> => {
  const d = VerificationFeedbackApm.definitions
  return [
    Grafana.panel("Pipeline runs per second", "ops", [rateQuery(d.pipelineRuns, "pipeline, status")]),
    Grafana.panel("p95 pipeline stage", "s", [p95(d.stageDuration, "pipeline, stage")]),
    Grafana.panel("Analyses per second", "ops", [rateQuery(d.analyses, "analysis, status")]),
    Grafana.panel("p95 analysis", "s", [p95(d.analysisDuration, "analysis")]),
    Grafana.panel("Quality score", "percentunit", [{
      expr: `avg by (dimension) (${promName(d.qualityScore)}{${sel}})`,
      legend: "{{dimension}}"
    }]),
    Grafana.panel("Security findings per second", "ops", [rateQuery(d.securityFindings, "severity")])
  ]
}

/**
 * The services, each with the file its dashboard is written to.
 *
 * @category constants
 * @since 0.1.0
 */
export const services: ReadonlyArray<{
  readonly file: string
  readonly uid: string
  readonly title: string
  readonly type: OperationType.OperationType
  readonly panels: () => ReadonlyArray<Grafana.PanelBuilder>
  readonly variables?: ReadonlyArray<dashboard.TextBoxVariableBuilder>
}> = [
  {
    file: "model-router-dashboard.json",
    uid: "mcp-apm-model-router",
    title: "Model router",
    type: "model_request",
    panels: modelRouter,
    variables: [
      new dashboard.TextBoxVariableBuilder("input_price_per_mtok").label("Input USD / 1M tokens").defaultValue("3"),
      new dashboard.TextBoxVariableBuilder("output_price_per_mtok").label("Output USD / 1M tokens").defaultValue("15")
    ]
  },
  { file: "plan-management-dashboard.json", uid: "mcp-apm-plan-management", title: "Plan management", type: "plan_operation", panels: planManagement },
  { file: "git-worktree-dashboard.json", uid: "mcp-apm-git-worktree", title: "Git worktree", type: "git_operation", panels: gitWorktree },
  {
    file: "workflow-orchestrator-dashboard.json",
    uid: "mcp-apm-workflow-orchestrator",
    title: "Workflow orchestrator",
    type: "workflow_operation",
    panels: workflowOrchestrator
  },
  {
    file: "verification-feedback-dashboard.json",
    uid: "mcp-apm-verification-feedback",
    title: "Verification feedback",
    type: "verification_operation",
    panels: verificationFeedback
  }
]

/**
 * The dashboard of one service.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (service: (typeof services)[number]): dashboard.Dashboard =>
  service.panels().reduce(
    (builder, panel) => builder.withPanel(panel),
    operations(service.type).reduce(
      (builder, panel) => builder.withPanel(panel),
      Grafana.make(
        service.uid,
        `mcp-apm / ${service.title}`,
        `The ${service.title.toLowerCase()} service: its operations, then its own metrics.`
      )
        .variables([...Grafana.variables(ApmMetrics.definitions.operations.name, { type: service.type }), ...(service.variables ?? [])])
        .withRow(new dashboard.RowBuilder(`Operations (${service.type})`))
    ).withRow(new dashboard.RowBuilder(`${service.title} metrics`))
  ).build()
