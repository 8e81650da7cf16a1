/**
 * The HTTP server of the runtime: `GET /metrics` in the Prometheus text
 * format, `GET /health` and the dashboard (`GET /`, `GET /api/apm`), on
 * `RuntimeConfig`'s host and port, behind `HttpGuard`.
 *
 * A scrape renders every series of the registry; two hundred scrapers
 * rendering it each on their own take the event loop from the application.
 * So `/metrics` and `/api/apm` are rendered at most once per `cacheInterval`
 * (1 s) and by one fiber at a time, however many scrapers ask: the others
 * get the same rendering, gzipped once for those that accept it. The
 * server opens no spans: a scrape is no operation of the application's.
 *
 * @since 0.1.0
 */
import { NodeHttpServer } from "@effect/platform-node"
import type { Apm } from "@mcp-apm/core"
import { Duration, Effect, Function, Layer, Option } from "effect"
import type { Redacted } from "effect"
import { HttpMiddleware, HttpRouter, HttpServerResponse } from "effect/http"
import type { HttpServer, HttpServerError } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import * as Dashboard from "./Dashboard.ts"
import * as HttpGuard from "./HttpGuard.ts"
import * as ExpositionCache from "./internal/expositionCache.ts"
import { RuntimeConfig } from "./RuntimeConfig.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface RouteOptions {
  /** How long a rendering of `/metrics` or `/api/apm` is served again; 1 second by default. */
  readonly cacheInterval?: Duration.Input | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options extends RouteOptions {
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /**
   * How long closing waits for open requests (Node's default wait is 20 s):
   * a scraper holding a connection must not hold the process past its
   * shutdown timeout.
   */
  readonly closeTimeout?: Duration.Input | undefined
  /** How many requests a second are answered (`HttpGuard`); 100 after a burst of 100 by default. */
  readonly pacing?: HttpGuard.Options["pacing"]
}

const defaultCacheInterval = Duration.seconds(1)

const metrics = (interval: Duration.Input) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const exposition = yield* ExpositionCache.make(PrometheusMetrics.format(), {
      contentType: "text/plain; version=0.0.4; charset=utf-8",
      interval
    })
    yield* router.add("GET", "/metrics", exposition)
  }))

/**
 * The paths served, for `HttpGuard`.
 *
 * @category constants
 * @since 0.1.0
 */
export const paths = ["/metrics", "/health", ...Dashboard.paths]

/**
 * Served without the token: `/health` for probes, and the dashboard's page
 * and static files, with no data: the page asks for the token itself.
 *
 * @category constants
 * @since 0.1.0
 */
export const openPaths = ["/health", ...Dashboard.openPaths]

/**
 * The routes, without a server or guard.
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = (options: RouteOptions = {}) => {
  const cacheInterval = options.cacheInterval ?? defaultCacheInterval
  return Layer.mergeAll(
    metrics(cacheInterval),
    HttpRouter.add("GET", "/health", HttpServerResponse.text("ok")),
    Dashboard.routes({ cacheInterval })
  )
}

/**
 * Serves the guarded routes on a Node HTTP server bound to `host` and
 * `port`. An address other than loopback without a token logs a Warning at
 * start-up: the whole network can then read the application's operations.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (
  options: Options
): Layer.Layer<HttpServer.HttpServer, HttpServerError.ServeError, Apm.Apm> => {
  const { host, port, token } = options
  const guard = HttpGuard.layer({
    host,
    token,
    allowedHosts: options.allowedHosts ?? [],
    paths,
    openPaths,
    unpacedPaths: ["/health"],
    pacing: options.pacing
  })
  const exposed = !HttpGuard.isLoopback(host) && Option.isNone(token)
  return HttpRouter.serve(Layer.merge(routes(options), guard), { disableLogger: true }).pipe(
    // A scrape is no operation of the application's: no span, so no trace noise and no APM record of it.
    Layer.provide(Layer.succeed(HttpMiddleware.TracerDisabledWhen)(Function.constTrue)),
    Layer.provideMerge(
      NodeHttpServer.layer(createServer, { host, port, gracefulShutdownTimeout: options.closeTimeout ?? "1 second" })
    ),
    Layer.tap(() =>
      exposed
        ? Effect.logWarning(
          `APM_HTTP_HOST=${host} is not a loopback address and APM_HTTP_TOKEN is not set: ` +
            "anyone who can reach this port reads /metrics and the dashboard"
        )
        : Effect.void
    )
  )
}

/**
 * `layerWith` configured by `RuntimeConfig` and `APM_HTTP_ALLOWED_HOSTS`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = Layer.unwrap(
  Effect.gen(function*() {
    const { host, port, httpToken, shutdownTimeout } = yield* RuntimeConfig
    const allowedHosts = yield* HttpGuard.allowedHostsConfig
    // A third of the budget: span export and the baseline file share the rest.
    const closeTimeout = Duration.times(shutdownTimeout, 1 / 3)
    return layerWith({ host, port, token: httpToken, allowedHosts, closeTimeout })
  })
)
