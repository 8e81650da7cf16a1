/**
 * @mcp-apm/core: the APM model as Effect services. What tests need
 * (`ApmTest`, `ApmRecorder`, the test monitor and profiler) is the separate
 * entry point `@mcp-apm/core/testing`.
 *
 * @since 0.1.0
 */
export * as AnomalyDetector from "./AnomalyDetector.ts"
export * as AnomalyKind from "./AnomalyKind.ts"
export * as Apm from "./Apm.ts"
export * as ApmConfig from "./ApmConfig.ts"
export * as ApmMetrics from "./ApmMetrics.ts"
export * as BaselineStore from "./BaselineStore.ts"
export * as CappedLabel from "./CappedLabel.ts"
export * as ErrorType from "./ErrorType.ts"
export * as HttpNormalizer from "./HttpNormalizer.ts"
export * as Insights from "./Insights.ts"
export * as OperationSummary from "./OperationSummary.ts"
export * as OperationType from "./OperationType.ts"
export * as PerformanceMetrics from "./PerformanceMetrics.ts"
export * as Profiler from "./Profiler.ts"
export * as QueryNormalizer from "./QueryNormalizer.ts"
export * as QueryPatterns from "./QueryPatterns.ts"
export * as RateLimitedLog from "./RateLimitedLog.ts"
export * as ReadOnlyMetric from "./ReadOnlyMetric.ts"
export * as Redaction from "./Redaction.ts"
export * as ResourceMonitor from "./ResourceMonitor.ts"
export * as Severity from "./Severity.ts"
export * as SpanOperations from "./SpanOperations.ts"
export * as SqlMonitoring from "./SqlMonitoring.ts"
export * as StreamingDetector from "./StreamingDetector.ts"
