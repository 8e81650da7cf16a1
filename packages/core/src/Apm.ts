/**
 * The facade of mcp-apm: wrap an effect in `Apm.trace` and get a span, the
 * core metrics, a `PerformanceMetrics` record, a running summary, a
 * baseline and anomaly detection; read them back, with insights, here too.
 * The profiling and one-call helpers (`Apm.profileCpu`,
 * `Apm.traceHttpRequest`, ...) are part of it.
 *
 * @since 0.1.0
 */
export * from "./internal/apm.ts"
export type { ProfileOptions, QueryOptions } from "./internal/apmProfiling.ts"
export {
  profileCpu,
  profileMemory,
  profileQuery,
  recordExternalApi,
  traceDatabaseQuery,
  traceExternalApi,
  traceHttpRequest
} from "./internal/apmProfiling.ts"
