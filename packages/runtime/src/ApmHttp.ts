/**
 * HTTP, traced: a server middleware that traces every request as an
 * `http_request` operation, and a client wrapper that traces every call as an
 * `external_api` operation. Operation names are bounded: the method and the
 * path folded to a template (`GET /users/:id`), plus the host for clients, so
 * ids and query strings never become label values.
 *
 * A response with a 5xx status is recorded as an error (the server or the
 * dependency failed), while the response itself still passes through
 * unchanged: the caller sees exactly what it would without tracing.
 *
 * @since 0.1.0
 */
import { Apm, ApmProfiling } from "@mcp-apm/core"
import { Data, Effect } from "effect"
import { HttpClient, HttpRouter, HttpServerRequest } from "effect/http"
import type { HttpClientResponse, HttpServerResponse } from "effect/http"

/** Carries a 5xx response through `Apm.trace` as a failure, to be turned back into the response. */
class ServerErrorStatus<R> extends Data.TaggedError("ServerErrorStatus")<{
  readonly response: R
  readonly message: string
}> {}

const failed = <R extends { readonly status: number }>(response: R) =>
  response.status >= 500
    ? Effect.fail(new ServerErrorStatus({ response, message: `HTTP ${response.status}` }))
    : Effect.succeed(response)

const traceResponse = <R extends { readonly status: number }, E, Req>(
  self: Effect.Effect<R, E, Req>,
  name: string,
  type: "http_request" | "external_api",
  attributes: Record<string, string>
): Effect.Effect<R, E, Req | Apm.Apm> =>
  self.pipe(
    Effect.tap((response) => Effect.annotateCurrentSpan("http.response.status_code", response.status)),
    Effect.flatMap(failed),
    Apm.trace(name, type, attributes),
    Effect.catchIf(
      (error): error is ServerErrorStatus<R> => error instanceof ServerErrorStatus,
      (error) => Effect.succeed(error.response)
    )
  )

/**
 * Traces each request of an HTTP app as `http_request`, named
 * `METHOD /path/template`.
 *
 * @category middleware
 * @since 0.1.0
 */
export const middleware = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | Apm.Apm | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const method = ApmProfiling.normalizeMethod(request.method)
    const route = ApmProfiling.normalizePath(request.url)
    return traceResponse(app, `${method} ${route}`, "http_request", {
      "http.request.method": method,
      "http.route": route
    })
  })

/**
 * `middleware` as a global middleware of an `HttpRouter` app.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = HttpRouter.middleware(middleware, { global: true })

/**
 * An `HttpClient` whose every call is traced as `external_api`, named
 * `METHOD host/path/template`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const tracedClient = <E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E, R | Apm.Apm> =>
  HttpClient.transform(client, (effect, request) => {
    const method = ApmProfiling.normalizeMethod(request.method)
    const url = safeUrl(request.url)
    const host = url?.host ?? "unknown"
    const route = ApmProfiling.normalizePath(request.url)
    return traceResponse<HttpClientResponse.HttpClientResponse, E, R>(effect, `${method} ${host}${route}`, "external_api", {
      "http.request.method": method,
      "server.address": host,
      "url.template": route
    })
  })

const safeUrl = (url: string): URL | undefined => {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}
