/**
 * HTTP, observed: a server middleware that records every request as an
 * `http_request` operation and a client wrapper that records every call as
 * an `external_api` operation, on the spans effect/http already opens (the
 * SERVER span of `HttpRouter.serve`, the CLIENT span of `HttpClient`), not
 * on spans of their own.
 *
 * Following the OpenTelemetry HTTP conventions: the server span is named
 * `{method} {http.route}` from the router's matched route; a 5xx is an
 * error on both sides and a 4xx only on the client, with `error.type` the
 * status code as text; `http.server.request.duration` and
 * `http.client.request.duration` are histograms in seconds with the
 * conventions' buckets and attributes, named as Prometheus spells them
 * (`http_server_request_duration_seconds`, as the other histograms here). W3C `traceparent` is extracted and
 * injected by effect/http itself; `tracestate` is carried here, from the
 * request a server handles to the calls its handler makes in the same trace.
 *
 * Operation names stay bounded: the route template when the router matched
 * one, else the method and the path folded to a template (`GET /users/:id`),
 * plus the host for clients. Secrets in URLs and messages are redacted by
 * `Redaction`'s rules. The request, the response and the error pass through
 * unchanged: the caller sees exactly what it would without this module.
 *
 * @since 0.1.0
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { Apm, HttpNormalizer, Redaction } from "@mcp-apm/core"
import type { PerformanceMetrics } from "@mcp-apm/core"
import { Cause, Clock, Context, Effect, Exit, Metric, Option, Tracer } from "effect"
import type { Fiber } from "effect"
import {
  Headers,
  HttpClient,
  HttpClientRequest,
  HttpRouter,
  HttpServerError,
  HttpServerRequest,
  UrlParams
} from "effect/http"
import type { HttpClientResponse, HttpServerResponse } from "effect/http"

/**
 * The bucket boundaries (seconds) the HTTP semantic conventions advise for
 * request durations.
 *
 * @category constants
 * @since 0.1.0
 */
export const durationBoundaries: ReadonlyArray<number> = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10
]

/**
 * Name and description of the HTTP metrics, as the semantic conventions
 * give them (Prometheus shows them with `_` for `.`).
 *
 * @category constants
 * @since 0.1.0
 */
export const metricDefinitions = {
  serverDuration: { name: "http_server_request_duration_seconds", description: "Duration of HTTP server requests" },
  clientDuration: { name: "http_client_request_duration_seconds", description: "Duration of HTTP client requests" }
} as const

const durationHistogram = (definition: { readonly name: string; readonly description: string }) =>
  Metric.histogram(definition.name, {
    description: definition.description,
    boundaries: durationBoundaries,
    // The unit as @effect/opentelemetry reads it for OTLP; the Prometheus text leaves it out of the labels.
    attributes: { unit: "s" }
  })

const serverDuration = durationHistogram(metricDefinitions.serverDuration)
const clientDuration = durationHistogram(metricDefinitions.clientDuration)

/**
 * The W3C `tracestate` of the request being served, for the calls its
 * handler makes in the same trace.
 *
 * @category references
 * @since 0.1.0
 */
export const IncomingTraceState = Context.Reference<
  { readonly traceId: string; readonly traceState: string } | undefined
>("@mcp-apm/runtime/ApmHttp/IncomingTraceState", { defaultValue: () => undefined })

// W3C Trace Context: at most 32 comma-separated `key=value` members, 512 characters in all.
const traceStateMember =
  /^\s*[a-z0-9][_0-9a-z\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]\s*$/
const validTraceState = (value: string | undefined): string | undefined => {
  if (value === undefined || value.length > 512) return undefined
  const members = value.split(",").filter((m) => m.trim() !== "")
  return members.length > 0 && members.length <= 32 && members.every((m) => traceStateMember.test(m))
    ? members.map((m) => m.trim()).join(",")
    : undefined
}

const currentSpan = (fiber: Fiber.Fiber<unknown, unknown>): Tracer.Span | undefined => {
  const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
  return span?._tag === "Span" ? span : undefined
}

const elapsedSeconds = (fiber: Fiber.Fiber<unknown, unknown>, start: bigint): number =>
  Number(fiber.getRef(Clock.Clock).currentTimeNanosUnsafe() - start) / 1e9

const labels = (attributes: Readonly<Record<string, string | number>>): Record<string, string> => {
  const text: Record<string, string> = {}
  for (const key in attributes) text[key] = String(attributes[key])
  return text
}

const statusOf = (failed: boolean, interrupted: boolean): PerformanceMetrics.OperationStatus =>
  interrupted ? "interrupted" : failed ? "error" : "ok"

/**
 * Records each request of an HTTP app as an `http_request` operation
 * named `{method} {route}`, annotating the server span effect/http opened
 * for it (renamed to `{method} {route}` when the tracer is
 * OpenTelemetry's), and carries its `tracestate` to the calls made while
 * serving it.
 *
 * @category middleware
 * @since 0.1.0
 */
export const middleware = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | Apm.Apm | HttpServerRequest.HttpServerRequest> =>
  Effect.withFiber((fiber) => {
    if (!Context.getUnsafe(fiber.context, Apm.Apm).options.enabled) return app
    const request = Context.getUnsafe(fiber.context, HttpServerRequest.HttpServerRequest)
    const span = currentSpan(fiber)
    const start = fiber.getRef(Clock.Clock).currentTimeNanosUnsafe()
    const observed = Effect.onExit(app, (exit) =>
      Effect.withFiber((after) => {
        const duration = elapsedSeconds(after, start)
        // The router leaves the matched route in the request fiber's context, for the enclosing request to see.
        const route = Context.getOrUndefined(after.context, HttpRouter.RouteContext)?.route.path
        const interrupted = Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
        const response = Exit.isSuccess(exit)
          ? Effect.succeed(exit.value)
          : Effect.map(HttpServerError.causeResponse(exit.cause), ([response]) => response)
        return Effect.flatMap(response, (response) =>
          recordServer(request, span, route, response.status, duration, interrupted))
      }))
    const traceState = span === undefined ? undefined : validTraceState(request.headers["tracestate"])
    // Only a request that continued its caller's trace has a trace state that belongs to it.
    return traceState === undefined || span === undefined || span.parent._tag === "None" ||
        span.parent.value.traceId !== span.traceId
      ? observed
      : Effect.provideService(observed, IncomingTraceState, { traceId: span.traceId, traceState })
  })

const recordServer = (
  request: HttpServerRequest.HttpServerRequest,
  span: Tracer.Span | undefined,
  route: string | undefined,
  status: number,
  duration: number,
  interrupted: boolean
): Effect.Effect<void, never, Apm.Apm> => {
  const method = HttpNormalizer.normalizeMethod(request.method)
  // Server 4xx are the client's mistakes, not the server's errors.
  const failed = status >= 500
  const errorType = failed ? String(status) : undefined
  const attributes: Record<string, string | number> = {
    "http.request.method": method,
    "http.response.status_code": status,
    "url.scheme": Option.match(HttpServerRequest.toURL(request), {
      onNone: () => request.protocol ?? "http",
      onSome: (url) => url.protocol.slice(0, -1)
    })
  }
  if (route !== undefined) attributes["http.route"] = route
  if (errorType !== undefined) attributes["error.type"] = errorType
  if (span !== undefined) {
    span.attribute("apm.operation.type", "http_request")
    if (errorType !== undefined) span.attribute("error.type", errorType)
  }
  const name = `${method} ${route ?? HttpNormalizer.normalizePath(request.url)}`
  // Effect's spans have no rename; OpenTelemetry's do (a span of another tracer ignores it).
  const rename = span === undefined || route === undefined
    ? Effect.void
    : Effect.ignore(Effect.map(OtelTracer.currentOtelSpan, (otel) => otel.updateName(`${method} ${route}`)))
  return Effect.andThen(
    Effect.andThen(rename, Metric.update(Metric.withAttributes(serverDuration, labels(attributes)), duration)),
    Apm.recordMeasured({
      name,
      type: "http_request",
      duration,
      status: statusOf(failed, interrupted),
      errorMessage: interrupted ? "interrupted" : failed ? `HTTP ${status}` : undefined,
      attributes
    })
  )
}

/**
 * `middleware` as a global middleware of an `HttpRouter` app.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = HttpRouter.middleware(middleware, { global: true })

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

// The rules as effect/http's own redaction reads them, so that the client span's `url.full` is redacted where made.
const redactedParamNames = (rules: Redaction.Rules, current: ReadonlyArray<string | RegExp>) => [
  ...current,
  ...rules.queryParams.map((name) =>
    name.endsWith("*")
      ? new RegExp(`^${escapeRegExp(name.slice(0, -1))}`, "i")
      : new RegExp(`^${escapeRegExp(name)}$`, "i")
  ),
  /password|passwd|secret|token$|session|api_?key$/i
]

const errorTypeOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const reason = (error as { reason?: { _tag?: unknown } }).reason
    if (typeof reason?._tag === "string") return reason._tag
    const tag = (error as { _tag?: unknown })._tag
    if (typeof tag === "string") return tag
    if (error instanceof Error) return error.constructor.name
  }
  return "_OTHER"
}

const errorMessageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : errorTypeOf(error)

/** The trace state to send with a call: the served request's, or the OpenTelemetry span's own. */
const outgoingTraceState = (fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<string | undefined> => {
  const span = currentSpan(fiber)
  if (span === undefined) return Effect.undefined
  const incoming = fiber.getRef(IncomingTraceState)
  if (incoming !== undefined && incoming.traceId === span.traceId) return Effect.succeed(incoming.traceState)
  return OtelTracer.currentOtelSpan.pipe(
    Effect.map((otel) => otel.spanContext().traceState?.serialize() || undefined),
    Effect.orElseSucceed(() => undefined)
  )
}

/**
 * An `HttpClient` whose every call is recorded as an `external_api`
 * operation named `{method} {host}{path template}`, on the CLIENT span
 * effect/http opens for it, with the current `tracestate` sent beside the
 * `traceparent` effect/http sends. A 4xx or 5xx response or a failed call
 * is an error.
 *
 * @category combinators
 * @since 0.1.0
 */
export const tracedClient = <E, R>(
  client: HttpClient.HttpClient.With<E, R>
): HttpClient.HttpClient.With<E, R | Apm.Apm> =>
  HttpClient.mapRequestEffect(
    client,
    (request) =>
      request.headers["tracestate"] !== undefined ? Effect.succeed(request) : Effect.withFiber((fiber) =>
        Effect.map(
          outgoingTraceState(fiber),
          (traceState) =>
            traceState === undefined ? request : HttpClientRequest.setHeader(request, "tracestate", traceState)
        )
      )
  ).pipe(HttpClient.transform((effect, request) =>
    Effect.withFiber((fiber) => {
      if (!Context.getUnsafe(fiber.context, Apm.Apm).options.enabled) return effect
      const start = fiber.getRef(Clock.Clock).currentTimeNanosUnsafe()
      const rules = fiber.getRef(Redaction.CurrentRules)
      const redacted = effect.pipe(
        Effect.provideService(
          UrlParams.CurrentRedactedNames,
          redactedParamNames(rules, fiber.getRef(UrlParams.CurrentRedactedNames))
        ),
        Effect.provideService(
          Headers.CurrentRedactedNames,
          redactedParamNames(rules, fiber.getRef(Headers.CurrentRedactedNames))
        )
      )
      return Effect.onExit(
        redacted,
        (exit) => Effect.withFiber((after) => recordClient(request, exit, elapsedSeconds(after, start)))
      )
    })
  ))

const recordClient = (
  request: HttpClientRequest.HttpClientRequest,
  exit: Exit.Exit<HttpClientResponse.HttpClientResponse, unknown>,
  duration: number
): Effect.Effect<void, never, Apm.Apm> => {
  const method = HttpNormalizer.normalizeMethod(request.method)
  const url = safeUrl(request.url)
  const host = url?.hostname ?? "unknown"
  const template = HttpNormalizer.normalizePath(request.url)
  const attributes: Record<string, string | number> = {
    "http.request.method": method,
    "server.address": host
  }
  if (url !== undefined && url.port !== "") attributes["server.port"] = Number(url.port)
  let failed: boolean
  let interrupted = false
  let errorMessage: string | undefined
  if (Exit.isSuccess(exit)) {
    const status = exit.value.status
    attributes["http.response.status_code"] = status
    // The conventions mark client 4xx as errors too: the call did not get what it asked for.
    failed = status >= 400
    if (failed) {
      attributes["error.type"] = String(status)
      errorMessage = `HTTP ${status}`
    }
  } else {
    interrupted = Cause.hasInterruptsOnly(exit.cause)
    failed = !interrupted
    const error = Cause.squash(exit.cause)
    attributes["error.type"] = interrupted ? "interrupted" : errorTypeOf(error)
    errorMessage = interrupted ? "interrupted" : errorMessageOf(error)
  }
  return Effect.andThen(
    Metric.update(Metric.withAttributes(clientDuration, labels(attributes)), duration),
    Apm.recordMeasured({
      name: `${method} ${url?.host ?? "unknown"}${template}`,
      type: "external_api",
      duration,
      status: statusOf(failed, interrupted),
      errorMessage,
      attributes: { ...attributes, "url.template": template }
    })
  )
}

const safeUrl = (url: string): URL | undefined => {
  try {
    return new URL(url)
  } catch {
    return undefined
  }
}
