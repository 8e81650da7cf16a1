/**
 * @mcp-apm/services: ready-made APMs for the five MCP services, each an
 * Effect service with its own `layer` over `Apm`.
 *
 * @since 0.1.0
 */
export * as GitWorktreeApm from "./GitWorktreeApm.ts"
export { InvalidObservation } from "./InvalidObservation.ts"
export * as ModelRouterApm from "./ModelRouterApm.ts"
export * as PlanManagementApm from "./PlanManagementApm.ts"
export * as VerificationFeedbackApm from "./VerificationFeedbackApm.ts"
export * as WorkflowOrchestratorApm from "./WorkflowOrchestratorApm.ts"
