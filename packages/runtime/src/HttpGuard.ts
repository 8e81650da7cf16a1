/**
 * The gate in front of the runtime's HTTP surface (`/metrics`, the dashboard
 * and its JSON, `/health`), which shows operation names, errors and timings
 * and so must not be readable by whoever can reach the port or trick a
 * browser into reaching it:
 *
 * - a `Host` header that names neither the bound address, nor a configured
 *   name (`APM_HTTP_ALLOWED_HOSTS`), nor an IP literal or `localhost` is
 *   refused with 421, which stops DNS rebinding (a page on a name the
 *   attacker controls, re-pointed at 127.0.0.1);
 * - with a token (`APM_HTTP_TOKEN`), every path but the open ones needs
 *   `Authorization: Bearer <token>`, compared in constant time, or gets 401
 *   with `WWW-Authenticate`;
 * - the surface is read-only: a method other than GET or HEAD on a served
 *   path gets 405 with `Allow`;
 * - every response, errors and 404 included, carries `Cache-Control:
 *   no-store` and `X-Content-Type-Options: nosniff`;
 * - requests are paced (100 a second after a burst of 100 by default):
 *   scrapers that never pause wait for their turn instead of taking the
 *   event loop from the application, and one that would wait over 2 s gets
 *   429 with `Retry-After`. `/health` is never paced, so a probe answers
 *   under any scrape load.
 *
 * @since 0.1.0
 */
import { RateLimitedLog } from "@mcp-apm/core"
import { Cause, Config, Effect, Option, Redacted, Result, Schema } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { NetAddress } from "effect/net"
import { createHash, timingSafeEqual } from "node:crypto"
import { lastMemo } from "./internal/lastMemo.ts"
import type { PacingOptions } from "./internal/requestPacing.ts"
import { defaultPacing, makePacer } from "./internal/requestPacing.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The address the server binds (`APM_HTTP_HOST`). */
  readonly host: string
  readonly token: Option.Option<Redacted.Redacted<string>>
  /** Further names the server answers to, `name` or `name:port` (`APM_HTTP_ALLOWED_HOSTS`). */
  readonly allowedHosts: ReadonlyArray<string>
  /** Every path served; all are read-only (GET and HEAD). */
  readonly paths: ReadonlyArray<string>
  /** The paths served without the token. */
  readonly openPaths: ReadonlyArray<string>
  /** The paths answered at once, whatever the load. */
  readonly unpacedPaths?: ReadonlyArray<string> | undefined
  readonly pacing?: PacingOptions | undefined
}

const hostEntry = Schema.Trim.check(
  Schema.isPattern(/^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9._-]+)(:\d{1,5})?$/, {
    expected: "a host name or address, optionally with :port (e.g. apm.internal or apm.internal:9464)"
  })
)

/**
 * `APM_HTTP_ALLOWED_HOSTS`: a comma-separated list of the names (a `Host`
 * header, with or without `:port`) the server answers to besides its bound
 * address, such as the name a reverse proxy forwards. Empty by default.
 *
 * @category configuration
 * @since 0.1.0
 */
export const allowedHostsConfig: Config.Config<ReadonlyArray<string>> = Config.Array(
  hostEntry,
  "APM_HTTP_ALLOWED_HOSTS"
).pipe(Config.withDefault([]))

interface HostName {
  readonly name: string
  readonly port: string | undefined
}

const parseHost = (value: string): HostName => {
  const lower = value.trim().toLowerCase()
  const separator = lower.startsWith("[") ? lower.indexOf("]:") + 1 : lower.lastIndexOf(":")
  const [name, port] = separator > 0 ? [lower.slice(0, separator), lower.slice(separator + 1)] : [lower, undefined]
  // "localhost." is "localhost": the trailing dot only says the name is absolute.
  return { name: name.endsWith(".") ? name.slice(0, -1) : name, port }
}

const ipOf = (name: string) => Result.getSuccess(NetAddress.ipFromString(name.replace(/^\[(.*)\]$/, "$1")))

/** A bound address (`APM_HTTP_HOST`) has no port, and an IPv6 one may come without brackets. */
const boundName = (host: string) => host.trim().toLowerCase().replace(/^\[(.*)\]$/, "$1")

/**
 * Whether `host` (an `APM_HTTP_HOST` value) only accepts connections from
 * this machine.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isLoopback = (host: string): boolean => {
  const name = boundName(host)
  return name === "localhost" || Option.exists(ipOf(name), NetAddress.isLoopback)
}

/**
 * A rebinding attack needs a name the attacker controls, so an IP literal or
 * `localhost` is always safe to answer, whatever its port (a proxy or a
 * container's port mapping changes the port). A configured name with a port
 * matches that port only.
 */
const hostCheck = (options: Options): (header: string | undefined) => boolean => {
  const bound = boundName(options.host)
  const boundIp = ipOf(bound)
  const wildcard = bound === "" || Option.exists(boundIp, NetAddress.isUnspecified)
  const entries = options.allowedHosts.map(parseHost)
  if (wildcard && entries.length === 0) return () => true
  // A bound IP is an IP literal, answered below anyway.
  if (Option.isNone(boundIp) && !wildcard) entries.push({ name: bound, port: undefined })
  return lastMemo((header) => {
    if (header === undefined) return false
    const { name, port } = parseHost(header)
    return name === "localhost" || Option.isSome(ipOf(name)) ||
      entries.some((entry) => entry.name === name && (entry.port === undefined || entry.port === (port ?? "80")))
  })
}

const digest = (text: string) => createHash("sha256").update(text).digest()

/** `undefined` when the request may pass, otherwise why not (RFC 6750's error code). */
const tokenCheck = (token: Redacted.Redacted<string>) => {
  // Digests have one length, so timingSafeEqual compares in constant time without leaking the token's length.
  const expected = digest(Redacted.value(token))
  return (authorization: string | undefined): "missing" | "invalid_token" | undefined => {
    const bearer = /^bearer +(\S+) *$/i.exec(authorization ?? "")
    if (bearer === null) return "missing"
    return timingSafeEqual(digest(bearer[1]!), expected) ? undefined : "invalid_token"
  }
}

const allow = "GET, HEAD"
const everyResponse = { "cache-control": "no-store", "x-content-type-options": "nosniff" }
const realm = `Bearer realm="mcp-apm"`

const isRouteNotFound = (cause: Cause.Cause<unknown>) =>
  Option.exists(
    Cause.findErrorOption(cause),
    (error) => HttpServerError.isHttpServerError(error) && error.reason._tag === "RouteNotFound"
  )

/**
 * The guard as a function of the router's handler.
 *
 * @category middleware
 * @since 0.1.0
 */
export const middleware = (options: Options) => {
  const hostAllowed = hostCheck(options)
  const refusal = Option.map(options.token, tokenCheck)
  const paths = new Set(options.paths)
  const openPaths = new Set(options.openPaths)
  const unpacedPaths = new Set(options.unpacedPaths ?? [])
  const pacer = makePacer(options.pacing ?? defaultPacing)
  const log = RateLimitedLog.make({ interval: "1 minute" })

  // Typed as failing like `app` (the router demands it of a global middleware) though it never fails.
  return <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = request.url.split("?", 1)[0]!
      const host = request.headers["host"]
      if (!unpacedPaths.has(path)) {
        const wait = yield* pacer.admit
        if (wait === undefined) {
          yield* log.warn("pacing", "turned requests away: more than the HTTP surface answers a second", { path })
          return HttpServerResponse.text("429 Too Many Requests: scrape less often\n", {
            status: 429,
            headers: { "retry-after": "1" }
          })
        }
        if (wait > 0) yield* Effect.sleep(wait)
      }
      if (!hostAllowed(host)) {
        yield* log.warn("host", "refused a request for a host this server does not answer to", { host })
        return HttpServerResponse.text(
          `421 Misdirected Request: this server does not answer to Host ${
            JSON.stringify(host ?? "")
          }; add the name to APM_HTTP_ALLOWED_HOSTS if it is yours\n`,
          { status: 421 }
        )
      }
      if (Option.isSome(refusal) && !openPaths.has(path)) {
        const reason = refusal.value(request.headers["authorization"])
        if (reason !== undefined) {
          yield* log.warn(`token-${reason}`, "refused a request without the right bearer token", { path })
          return HttpServerResponse.text(
            reason === "missing"
              ? "401 Unauthorized: send Authorization: Bearer <APM_HTTP_TOKEN>\n"
              : "401 Unauthorized: the bearer token is wrong\n",
            {
              status: 401,
              headers: { "www-authenticate": reason === "missing" ? realm : `${realm}, error="${reason}"` }
            }
          )
        }
      }
      if (paths.has(path) && request.method !== "GET" && request.method !== "HEAD") {
        return HttpServerResponse.text(`405 Method Not Allowed: ${path} answers ${allow}, not ${request.method}\n`, {
          status: 405,
          headers: { allow }
        })
      }
      return yield* app.pipe(Effect.catchCause((cause) =>
        isRouteNotFound(cause)
          ? Effect.succeed(HttpServerResponse.text(`404 Not Found: ${path}\n`, { status: 404 }))
          : Effect.flatMap(HttpServerError.causeResponse(cause), ([response]) =>
            // A client that hangs up interrupts its handler: that is no failure of ours.
            response.status >= 500 && !Cause.hasInterruptsOnly(cause)
              ? Effect.as(log.warn("handler", "an HTTP handler failed", { path, cause: Cause.pretty(cause) }), response)
              : Effect.succeed(response))
      ))
    }).pipe(Effect.map(HttpServerResponse.setHeaders(everyResponse)))
}

/**
 * The guard as global middleware of an `HttpRouter`: it sees every request,
 * those no route matches included.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options) =>
  HttpRouter.middleware<{ handles: unknown }>()(middleware(options), { global: true })
