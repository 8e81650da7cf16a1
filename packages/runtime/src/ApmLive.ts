/**
 * `ApmLive`: everything a Node service needs, from one layer provided at its
 * entry point: configuration from `APM_*`, the `Apm` service, span export
 * over OTLP and the `/metrics` endpoint.
 *
 * @since 0.1.0
 */
import { Apm, ApmConfig } from "@mcp-apm/core"
import { Layer } from "effect"
import type * as Resource from "@effect/opentelemetry/Resource"
import type { HttpServer } from "effect/http"
import * as MetricsServer from "./MetricsServer.ts"
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
): Layer.Layer<Apm.Apm | ApmConfig.ApmConfig | HttpServer.HttpServer | Resource.Resource, unknown> =>
  Layer.mergeAll(Apm.layer, MetricsServer.layer, Tracing.layer).pipe(
    Layer.provideMerge(config),
    Layer.provide(runtime)
  )

/**
 * The live stack, configured from the environment.
 *
 * @category layers
 * @since 0.1.0
 */
export const ApmLive = make(ApmConfig.ApmConfig.layerFromEnvironment(), RuntimeConfig.layerFromEnvironment)
