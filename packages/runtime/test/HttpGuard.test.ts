/**
 * The locked-down HTTP surface, over a real server on 127.0.0.1 and real
 * clients: the token, the Host check, the headers every response carries,
 * 405 for a wrong method, the start-up warning and the allowed-hosts list.
 */
import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Logger, Metric, Option, Redacted } from "effect"
import * as HttpGuard from "../src/HttpGuard.ts"
import { guardedServer, port, request } from "./support/http.ts"

const token = "s3cret-token"
const guarded = guardedServer({ token: Option.some(Redacted.make(token)) })
const bearer = { authorization: `Bearer ${token}` }

const get = (path: string, headers: Record<string, string> = {}) =>
  Effect.flatMap(port, (p) =>
    Effect.promise(async () => {
      const response = await fetch(`http://127.0.0.1:${p}${path}`, { headers })
      return { status: response.status, headers: response.headers, body: await response.text() }
    }))

const isolated = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.provideService(Metric.MetricRegistry, new Map()))

describe("HttpGuard", () => {
  it.live("with a token, every endpoint but /health and the page shell answers 401 without it", () =>
    Effect.gen(function*() {
      for (const path of ["/metrics", "/api/apm", "/nowhere"]) {
        const missing = yield* get(path)
        assert.strictEqual(missing.status, 401, path)
        assert.strictEqual(missing.headers.get("www-authenticate"), `Bearer realm="mcp-apm"`)
        assert.include(missing.body, "Authorization: Bearer")
        const wrong = yield* get(path, { authorization: "Bearer not-the-token" })
        assert.strictEqual(wrong.status, 401, path)
        assert.strictEqual(wrong.headers.get("www-authenticate"), `Bearer realm="mcp-apm", error="invalid_token"`)
        assert.include(wrong.body, "wrong")
        // a prefix of the right token is as wrong as any other
        assert.strictEqual((yield* get(path, { authorization: `Bearer ${token.slice(0, -1)}` })).status, 401)
        assert.strictEqual((yield* get(path, { authorization: `Basic ${token}` })).status, 401)
      }
      const health = yield* get("/health")
      assert.deepStrictEqual([health.status, health.body], [200, "ok"])
      const page = yield* get("/")
      assert.strictEqual(page.status, 200)
      assert.notInclude(page.body, "apm_operations_total")
    }).pipe(Effect.provide(guarded), isolated))

  it.live("with the right token, /metrics and /api/apm answer 200", () =>
    Effect.gen(function*() {
      const metrics = yield* get("/metrics", bearer)
      assert.strictEqual(metrics.status, 200)
      assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/)
      const api = yield* get("/api/apm", { authorization: `bearer ${token}` })
      assert.strictEqual(api.status, 200)
      assert.deepStrictEqual(Object.keys(JSON.parse(api.body)), [
        "summaries",
        "baselines",
        "anomalies",
        "insights",
        "resources"
      ])
      assert.strictEqual((yield* get("/nowhere", bearer)).status, 404)
    }).pipe(Effect.provide(guarded), isolated))

  it.live("refuses a Host that is neither the bound address, a configured name, an IP literal nor localhost", () =>
    Effect.gen(function*() {
      const p = yield* port
      const evil = yield* request(p, "/health", { headers: { host: "evil.example.com" } })
      assert.strictEqual(evil.status, 421)
      assert.include(evil.body, `"evil.example.com"`)
      assert.include(evil.body, "APM_HTTP_ALLOWED_HOSTS")
      // refused before the token is looked at: a rebinding page learns nothing, not even that a token is needed
      assert.strictEqual(
        (yield* request(p, "/metrics", { headers: { host: `evil.example.com:${p}`, ...bearer } })).status,
        421
      )
      assert.strictEqual(
        (yield* request(p, "/health", { headers: { host: "127.0.0.1.evil.example.com" } })).status,
        421
      )
      for (
        const host of [
          `127.0.0.1:${p}`,
          `localhost:${p}`,
          `LOCALHOST.:${p}`,
          `[::1]:${p}`,
          "apm.internal",
          "apm.internal:9999"
        ]
      ) {
        const ok = yield* request(p, "/health", { headers: { host } })
        assert.strictEqual(ok.status, 200, host)
      }
      assert.strictEqual((yield* request(p, "/health", { headers: { host: "proxy.internal:8443" } })).status, 200)
      assert.strictEqual((yield* request(p, "/health", { headers: { host: "proxy.internal:8080" } })).status, 421)
    }).pipe(Effect.provide(guardedServer({ allowedHosts: ["apm.internal", "proxy.internal:8443"] })), isolated))

  it.live("every response, errors and 404 included, carries no-store and nosniff", () =>
    Effect.gen(function*() {
      const p = yield* port
      const replies = [
        yield* request(p, "/"),
        yield* request(p, "/health"),
        yield* request(p, "/metrics"),
        yield* request(p, "/metrics", { headers: bearer }),
        yield* request(p, "/api/apm", { headers: bearer }),
        yield* request(p, "/nowhere", { headers: bearer }),
        yield* request(p, "/metrics", { method: "POST", headers: bearer }),
        yield* request(p, "/health", { headers: { host: "evil.example.com" } })
      ]
      assert.deepStrictEqual(replies.map((r) => r.status), [200, 200, 401, 200, 200, 404, 405, 421])
      for (const reply of replies) {
        assert.strictEqual(reply.headers["cache-control"], "no-store", `${reply.status}`)
        assert.strictEqual(reply.headers["x-content-type-options"], "nosniff", `${reply.status}`)
      }
      assert.strictEqual(replies[5]!.body, "404 Not Found: /nowhere\n")
    }).pipe(Effect.provide(guarded), isolated))

  it.live("a method other than GET or HEAD on a served path is 405 with Allow", () =>
    Effect.gen(function*() {
      const p = yield* port
      for (const [method, path] of [["POST", "/metrics"], ["DELETE", "/api/apm"], ["PUT", "/"], ["PATCH", "/health"]]) {
        const reply = yield* request(p, path!, { method: method! })
        assert.strictEqual(reply.status, 405, `${method} ${path}`)
        assert.strictEqual(reply.headers["allow"], "GET, HEAD")
        assert.include(reply.body, `not ${method}`)
      }
      const head = yield* request(p, "/metrics", { method: "HEAD" })
      assert.deepStrictEqual([head.status, head.body], [200, ""])
      assert.strictEqual((yield* request(p, "/nowhere", { method: "POST" })).status, 404)
    }).pipe(Effect.provide(guardedServer()), isolated))

  it.live("paces requests: past the rate they wait for their turn, past the longest wait they get 429; /health never waits", () =>
    Effect.gen(function*() {
      const p = yield* port
      // One a second, no burst, at most 1 s of waiting: of ten requests arriving within a second,
      // the first is answered at once, the second after waiting, and the other eight are turned away.
      const replies = yield* Effect.all(Array.from({ length: 10 }, () => request(p, "/api/apm")), {
        concurrency: "unbounded"
      })
      const statuses = replies.map((r) => r.status).sort()
      assert.deepStrictEqual(statuses, [200, 200, 429, 429, 429, 429, 429, 429, 429, 429])
      for (const reply of replies.filter((r) => r.status === 429)) {
        assert.strictEqual(reply.headers["retry-after"], "1")
        assert.strictEqual(reply.headers["cache-control"], "no-store")
      }
      const probes = yield* Effect.all(Array.from({ length: 10 }, () => request(p, "/health")), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(probes.map((r) => r.status), Array(10).fill(200))
    }).pipe(Effect.provide(guardedServer({ pacing: { perSecond: 1, burst: 0, maxWait: "1 second" } })), isolated))

  it.live("binding a non-loopback address without a token logs a Warning at start-up, with a token none", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.layer([Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") lines.push(String(message))
      })])
      const start = (options: Parameters<typeof guardedServer>[0]) =>
        Effect.scoped(Effect.provide(Effect.void, guardedServer(options))).pipe(Effect.provide(logger))
      yield* start({ host: "0.0.0.0" })
      assert.strictEqual(lines.length, 1)
      assert.match(lines[0]!, /^APM_HTTP_HOST=0\.0\.0\.0 is not a loopback address and APM_HTTP_TOKEN is not set/)
      yield* start({ host: "0.0.0.0", token: Option.some(Redacted.make(token)) })
      yield* start({ host: "127.0.0.1" })
      yield* start({ host: "localhost" })
      assert.strictEqual(lines.length, 1)
    }).pipe(isolated))

  it.live("bound to 0.0.0.0 with no configured names, any Host is answered and the token still guards", () =>
    Effect.gen(function*() {
      const p = yield* port
      assert.strictEqual((yield* request(p, "/health", { headers: { host: "whatever.example" } })).status, 200)
      assert.strictEqual((yield* request(p, "/metrics", { headers: { host: "whatever.example" } })).status, 401)
      assert.strictEqual(
        (yield* request(p, "/metrics", { headers: { host: "whatever.example", ...bearer } })).status,
        200
      )
    }).pipe(
      Effect.provide(guardedServer({ host: "0.0.0.0", token: Option.some(Redacted.make(token)) })),
      Effect.provide(Logger.layer([])),
      isolated
    ))

  it.effect("APM_HTTP_ALLOWED_HOSTS is a comma-separated list; a bad entry is an error naming the variable", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) =>
        HttpGuard.allowedHostsConfig.pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
      assert.deepStrictEqual(yield* read({}), [])
      assert.deepStrictEqual(yield* read({ APM_HTTP_ALLOWED_HOSTS: "apm.internal, [::1]:9464,proxy:8443" }), [
        "apm.internal",
        "[::1]:9464",
        "proxy:8443"
      ])
      const error = yield* Effect.flip(read({ APM_HTTP_ALLOWED_HOSTS: "apm.internal,http://evil/" }))
      assert.instanceOf(error, Config.ConfigError)
      assert.include(error.message, "APM_HTTP_ALLOWED_HOSTS")
      assert.include(error.message, "a host name or address")
    }))

  it.effect("isLoopback knows loopback names and addresses from the rest", () =>
    Effect.sync(() => {
      for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost"]) {
        assert.isTrue(HttpGuard.isLoopback(host), host)
      }
      for (const host of ["0.0.0.0", "::", "10.0.0.5", "apm.internal", "localhost.evil.example"]) {
        assert.isFalse(HttpGuard.isLoopback(host), host)
      }
    }))
})
