/**
 * @mcp-apm/runtime: the Node wiring of mcp-apm.
 *
 * @since 0.1.0
 */
export * as ApmHttp from "./ApmHttp.ts"
export { ApmLive } from "./ApmLive.ts"
export * as ApmLiveStack from "./ApmLive.ts"
export * as ApmPromise from "./ApmPromise.ts"
export * as EmbeddedPostgres from "./EmbeddedPostgres.ts"
export * as Logging from "./Logging.ts"
export {
  GitWorktreeApmLive,
  McpServicesLive,
  ModelRouterApmLive,
  PlanManagementApmLive,
  VerificationFeedbackApmLive,
  WorkflowOrchestratorApmLive
} from "./McpServicesLive.ts"
export * as MetricsServer from "./MetricsServer.ts"
export * as NodeProfiler from "./NodeProfiler.ts"
export * as NodeResourceMonitor from "./NodeResourceMonitor.ts"
export * as OtelEnvironment from "./OtelEnvironment.ts"
export * as OtelSpanTracer from "./OtelSpanTracer.ts"
export * as OtlpLogs from "./OtlpLogs.ts"
export * as OtlpMetrics from "./OtlpMetrics.ts"
export * from "./RuntimeConfig.ts"
export * as SpanExport from "./SpanExport.ts"
export * as Tracing from "./Tracing.ts"
