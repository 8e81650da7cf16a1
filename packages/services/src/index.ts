/**
 * @mcp-apm/services: ready-made APMs for the five MCP services, each an
 * Effect service with `make` (the service over the `Apm` it is given) and
 * `layer` (the same over the `Apm` in context).
 *
 * None of them changes what the effects it traces do: a value that cannot
 * be recorded as given is folded into `other` (a label) or dropped (a
 * number), counted in `apm_invalid_observations_total{service, field}` and
 * warned about at most once a minute per service and field. A layer built
 * with `{ strict: true }` fails with `InvalidObservation` instead.
 *
 * @since 0.1.0
 */
export * as GitWorktreeApm from "./GitWorktreeApm.ts"
export { InvalidObservation } from "./InvalidObservation.ts"
export * as ModelRouterApm from "./ModelRouterApm.ts"
export * as PlanManagementApm from "./PlanManagementApm.ts"
export * as ServiceMetrics from "./ServiceMetrics.ts"
export * as VerificationFeedbackApm from "./VerificationFeedbackApm.ts"
export * as WorkflowOrchestratorApm from "./WorkflowOrchestratorApm.ts"
