/**
 * `@mcp-apm/core/testing`: what a test of code traced with `Apm` needs, as
 * `effect/testing` is to Effect: `ApmTest` (the `Apm` service for tests) and
 * its `ApmRecorder`, the test resource monitor and profiler, readers of the
 * metric registry, and seeded latency workloads with the detector's contract
 * measured on them. Nothing here touches Node.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as ApmRecorder from "./ApmRecorder.ts"

/**
 * @since 0.1.0
 */
export * as ApmTest from "./ApmTest.ts"

/**
 * @since 0.1.0
 */
export * as LatencyContract from "./LatencyContract.ts"

/**
 * @since 0.1.0
 */
export * as LatencyWorkload from "./LatencyWorkload.ts"

/**
 * @since 0.1.0
 */
export * as MetricSeries from "./MetricSeries.ts"

/**
 * @since 0.1.0
 */
export * as TestProfiler from "./TestProfiler.ts"

/**
 * @since 0.1.0
 */
export * as TestResourceMonitor from "./TestResourceMonitor.ts"
