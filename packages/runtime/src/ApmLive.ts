/**
 * `ApmLive`: everything a Node service needs, from one layer provided at its
 * entry point: configuration from `APM_*`, the `Apm` service with baselines
 * kept in a file across restarts, the three OpenTelemetry signals (traces,
 * metrics and logs) over OTLP as the `OTEL_*` variables say, console logs
 * correlated with the traces, and the `/metrics` endpoint.
 *
 * @since 0.1.0
 */
import { NodeServices } from "@effect/platform-node"
import {
  AnomalyDetector,
  Apm,
  ApmConfig,
  BaselineStore,
  Profiler,
  Redaction,
  ResourceMonitor,
  SpanOperations,
  SqlMonitoring
} from "@mcp-apm/core"
import { type Config, Effect, Layer, Option } from "effect"
import type * as Resource from "@effect/opentelemetry/Resource"
import type { HttpServer, HttpServerError } from "effect/http"
import * as History from "./dashboard/History.ts"
import * as Logging from "./Logging.ts"
import * as MetricsServer from "./MetricsServer.ts"
import * as NodeProfiler from "./NodeProfiler.ts"
import * as NodeResourceMonitor from "./NodeResourceMonitor.ts"
import * as OtlpLogs from "./OtlpLogs.ts"
import * as OtlpMetrics from "./OtlpMetrics.ts"
import { RuntimeConfig } from "./RuntimeConfig.ts"
import * as Tracing from "./Tracing.ts"

/**
 * Where `ApmLive`'s spans go: `"sdk"`, a tracer provider of its own
 * exporting over OTLP as the `OTEL_*` variables say (the default), or
 * `"existing"`, the provider the application already has (see
 * {@link Tracing.layerExistingProvider}).
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly tracerProvider?: "sdk" | "existing" | undefined
}

/**
 * The live stack over explicit configuration layers, for embedding and tests.
 *
 * The three signals' exports are built side by side, so that their final
 * flushes run side by side too, each within the shutdown budget.
 *
 * @category layers
 * @since 0.1.0
 */
export const make = <E1, E2>(
  config: Layer.Layer<ApmConfig.ApmConfig, E1>,
  runtime: Layer.Layer<RuntimeConfig, E2>,
  options: Options = {}
): Layer.Layer<
  | Apm.Apm
  | ApmConfig.ApmConfig
  | BaselineStore.BaselineStore
  | AnomalyDetector.AnomalyDetector
  | HttpServer.HttpServer
  | Resource.Resource
  | ResourceMonitor.ResourceMonitor
  | Profiler.Profiler
  | SqlMonitoring.SqlMonitoring,
  E1 | E2 | Config.ConfigError | HttpServerError.ServeError
> =>
  Layer.mergeAll(
    MetricsServer.layer,
    // The bridge wraps whichever tracer the export layer put in place, so the app's own spans become operations
    // too; database monitoring wraps the bridge, so a query is recorded once, as a database_query.
    SqlMonitoring.layer.pipe(Layer.provideMerge(SpanOperations.layer.pipe(
      Layer.provideMerge(options.tracerProvider === "existing" ? Tracing.layerExistingProvider : Tracing.layer)
    ))),
    OtlpMetrics.layer.pipe(Layer.provide(Tracing.layerResource)),
    OtlpLogs.layer.pipe(Layer.provide(Tracing.layerResource), Layer.provideMerge(Logging.layer))
  ).pipe(
    Layer.provideMerge(Apm.layerNoDeps),
    // below Apm, whose insights read the query patterns it adds
    Layer.provideMerge(SqlMonitoring.layerPatterns()),
    // below Apm, which reads the listeners it adds; above the baselines and the monitor it reads
    Layer.provideMerge(History.layer),
    Layer.provideMerge(Layer.merge(NodeResourceMonitor.layer(), profiler)),
    Layer.provideMerge(AnomalyDetector.layer),
    Layer.provideMerge(persistentBaselines),
    Layer.provideMerge(config),
    // APM_REDACT_QUERY_PARAMS for every fiber under ApmLive: spans, records and error messages alike.
    Layer.provideMerge(Redaction.layerConfig),
    Layer.provide(runtime)
  )

const profiler = Layer.unwrap(
  Effect.map(
    RuntimeConfig,
    ({ profileDirectory }) =>
      NodeProfiler.layer(Option.match(profileDirectory, { onNone: () => ({}), onSome: (directory) => ({ directory }) }))
  )
)

const persistentBaselines = Layer.unwrap(
  Effect.map(
    RuntimeConfig,
    ({ baselineFile }) => BaselineStore.layerPersistent(baselineFile, { processId: process.pid })
  )
).pipe(Layer.provide(NodeServices.layer))

/**
 * The live stack, configured from the environment.
 *
 * @category layers
 * @since 0.1.0
 */
export const ApmLive = make(ApmConfig.ApmConfig.layerFromEnvironment(), RuntimeConfig.layerFromEnvironment)

/**
 * The live stack, configured from the environment, with spans going to the
 * tracer provider the application already has: for a service that sets up
 * OpenTelemetry itself (its own `NodeSdk`, Sentry, auto-instrumentations).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWithExistingProvider = make(
  ApmConfig.ApmConfig.layerFromEnvironment(),
  RuntimeConfig.layerFromEnvironment,
  { tracerProvider: "existing" }
)
