import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { ConfigProvider, Effect, Layer, Metric } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import fc from "fast-check"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { ApmHttp } from "../src/index.ts"
import { baseUrl, liveStack } from "./support/live.ts"
import { collector } from "./support/SpanExportCollector.ts"

/** A port of 127.0.0.1 nobody listens on: bound, then closed. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
)

const secret = fc.stringMatching(/^[A-Za-z0-9_~-]{16,32}$/)
const secretName = fc.constantFrom(
  "password",
  "client_secret",
  "access_token",
  "apiKey",
  "session.id",
  "http.request.header.cookie",
  "http.response.header.set-cookie",
  "http.request.header.x-api-key"
)
const secretParam = fc.constantFrom(
  "token",
  "api_key",
  "sig",
  "signature",
  "X-Amz-Signature",
  "code",
  "session",
  "password"
)

const text = (url: string) => Effect.promise(() => fetch(url).then((response) => response.text()))

/**
 * What a service does with `secret` in every place a secret turns up: as
 * attributes of `Apm.trace` (under the secret `name`, in a URL's `param`), in the message
 * of the error it fails with, in the name, attributes and error of a plain
 * Effect span, and in the URL of a traced call that fails to connect.
 */
const workload = (secret: string, name: string, param: string, port: number) =>
  Effect.gen(function*() {
    yield* Effect.exit(
      Apm.trace(
        Effect.fail(new Error(`GET https://admin:${secret}@db.example.com/?token=${secret}`)),
        "login",
        "http_request",
        {
          [name]: secret,
          "http.request.header.authorization": `Bearer ${secret}`,
          "url.full": `https://api.example.com/v1?${param}=${secret}&page=1`
        }
      )
    )
    yield* Effect.exit(
      Effect.fail(new Error(`{"session":"${secret}"}`)).pipe(
        Effect.withSpan(`GET /callback?code=${secret}`, {
          attributes: { [name]: secret, "url.query": `${param}=${secret}&page=2` }
        })
      )
    )
    const client = ApmHttp.tracedClient(yield* HttpClient.HttpClient)
    yield* Effect.exit(
      client.get(`http://user:${secret}@127.0.0.1:${port}/users/${secret}@example.com?token=${secret}`)
    )
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** Runs the workload on the live stack exporting to a real collector, and returns what each sink holds. */
const sinksAfter = (secret: string, name: string, param: string) =>
  Effect.gen(function*() {
    const received = yield* collector({ _tag: "ok" })
    const port = yield* closedPort
    const served = yield* Effect.scoped(
      Effect.gen(function*() {
        const context = yield* Layer.build(liveStack("redaction-property"))
        return yield* Effect.gen(function*() {
          yield* workload(secret, name, param, port)
          const base = yield* baseUrl
          return { metrics: yield* text(`${base}/metrics`), dashboard: yield* text(`${base}/api/apm`) }
        }).pipe(Effect.provideContext(context))
      })
    ).pipe(
      Effect.provide(
        ConfigProvider.layer(ConfigProvider.fromEnv({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: received.endpoint } }))
      )
    )
    // The stack is released: its spans are flushed to the collector.
    return { ...served, spans: JSON.stringify(received.accepted), spanNames: received.accepted.map((s) => s.name) }
  }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map()))

describe("RedactionProperty", () => {
  it.live(
    "no secret, generated at random, reaches an exported span, /metrics or the dashboard JSON",
    () =>
      Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(secret, secretName, secretParam, async (value, name, param) => {
            const sinks = await Effect.runPromise(sinksAfter(value, name, param))
            // The sinks hold what was done, so that an absent secret means a redacted one.
            assert.includeMembers(sinks.spanNames, ["login", "GET /callback?code=[REDACTED]", "GET"])
            assert.include(sinks.dashboard, "login")
            assert.include(sinks.metrics, `operation_name="login"`)
            assert.notInclude(sinks.spans, value)
            assert.notInclude(sinks.metrics, value)
            assert.notInclude(sinks.dashboard, value)
          }),
          { seed: 101, numRuns: 20 }
        )
      ),
    60_000
  )
})
