/**
 * The HTTP server of the runtime: `GET /metrics` in the Prometheus text
 * format, `GET /health` and the dashboard (`GET /`, `GET /api/apm`), on
 * `RuntimeConfig`'s host and port.
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import * as Dashboard from "./Dashboard.ts"
import { RuntimeConfig } from "./RuntimeConfig.ts"

/**
 * The routes, without a server.
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = Layer.mergeAll(
  PrometheusMetrics.layerHttp(),
  HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")),
  Dashboard.routes
)

/**
 * Serves `routes` on a Node HTTP server bound to the configured address.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = Layer.unwrap(
  Effect.map(RuntimeConfig, ({ host, port }) =>
    HttpRouter.serve(routes, { disableLogger: true }).pipe(
      Layer.provideMerge(NodeHttpServer.layer(createServer, { host, port }))
    ))
)
