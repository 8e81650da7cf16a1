/**
 * The HTTP server of the runtime: `GET /metrics` in the Prometheus text
 * format and `GET /health`, on `RuntimeConfig`'s host and port.
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { RuntimeConfig } from "./RuntimeConfig.ts"

/**
 * The routes, without a server: other modules (the dashboard) add theirs to
 * the same router.
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = Layer.mergeAll(
  PrometheusMetrics.layerHttp(),
  HttpRouter.add("GET", "/health", HttpServerResponse.text("ok"))
)

/**
 * Serves `routes` on a Node HTTP server bound to the configured address.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<HttpServer.HttpServer, unknown, RuntimeConfig> = Layer.unwrap(
  Effect.map(RuntimeConfig, ({ host, port }) =>
    HttpRouter.serve(routes, { disableLogger: true }).pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { host, port }))
    ))
)
