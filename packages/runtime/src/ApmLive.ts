/**
 * `ApmLive`: everything a Node service needs, from one layer provided at its
 * entry point: configuration from `APM_*`, the `Apm` service with baselines
 * kept in a file across restarts, span export over OTLP and the `/metrics`
 * endpoint.
 *
 * @since 0.1.0
 */
import { NodeServices } from "@effect/platform-node"
import { AnomalyDetector, Apm, ApmConfig, BaselineStore, Profiler, ResourceMonitor } from "@mcp-apm/core"
import { Effect, Layer, Option } from "effect"
import type * as Resource from "@effect/opentelemetry/Resource"
import type { HttpServer } from "effect/http"
import * as MetricsServer from "./MetricsServer.ts"
import * as NodeProfiler from "./NodeProfiler.ts"
import * as NodeResourceMonitor from "./NodeResourceMonitor.ts"
import { RuntimeConfig } from "./RuntimeConfig.ts"
import * as Tracing from "./Tracing.ts"

/**
 * The live stack over explicit configuration layers, for embedding and tests.
 *
 * @category layers
 * @since 0.1.0
 */
export const make = <E1, E2>(
  config: Layer.Layer<ApmConfig.ApmConfig, E1>,
  runtime: Layer.Layer<RuntimeConfig, E2>
): Layer.Layer<
  | Apm.Apm
  | ApmConfig.ApmConfig
  | BaselineStore.BaselineStore
  | AnomalyDetector.AnomalyDetector
  | HttpServer.HttpServer
  | Resource.Resource
  | ResourceMonitor.ResourceMonitor
  | Profiler.Profiler,
  unknown
> =>
  Layer.mergeAll(MetricsServer.layer, Tracing.layer).pipe(
    Layer.provideMerge(Apm.layerNoDeps),
    Layer.provideMerge(Layer.merge(NodeResourceMonitor.layer(), profiler)),
    Layer.provideMerge(AnomalyDetector.layer),
    Layer.provideMerge(persistentBaselines),
    Layer.provideMerge(config),
    Layer.provide(runtime)
  )

const profiler = Layer.unwrap(
  Effect.map(RuntimeConfig, ({ profileDirectory }) =>
    NodeProfiler.layer(Option.match(profileDirectory, { onNone: () => ({}), onSome: (directory) => ({ directory }) })))
)

const persistentBaselines = Layer.unwrap(
  Effect.map(RuntimeConfig, ({ baselineFile }) => BaselineStore.layerPersistent(baselineFile, { processId: process.pid }))
).pipe(Layer.provide(NodeServices.layer))

/**
 * The live stack, configured from the environment.
 *
 * @category layers
 * @since 0.1.0
 */
export const ApmLive = make(ApmConfig.ApmConfig.layerFromEnvironment(), RuntimeConfig.layerFromEnvironment)
