import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"

import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Deferred, Effect, Exit, Fiber, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { ApmHttp } from "../src/index.ts"
import { ApmRecorder, ApmTest } from "@mcp-apm/core/testing"

const App = Layer.mergeAll(
  HttpRouter.add("GET", "/users/:id", HttpServerResponse.text("Ada")),
  HttpRouter.add("GET", "/boom", HttpServerResponse.text("down", { status: 503 })),
  HttpRouter.add("GET", "/missing", HttpServerResponse.text("no", { status: 404 }))
)

// a real server on 127.0.0.1 and a client pointed at it
const server = <R>(app: Layer.Layer<never, never, R>) =>
  HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layerTest)
  )

/** The OpenTelemetry SDK as Effect's tracer, its finished spans kept in memory. */
const tracing = () => {
  const exporter = new InMemorySpanExporter()
  return {
    layer: NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) })),
    spans: Effect.sync(() => exporter.getFinishedSpans())
  }
}

const ofKind = (spans: ReadonlyArray<ReadableSpan>, kind: SpanKind) => spans.filter((s) => s.kind === kind)

/** The Prometheus series of `/metrics` whose name is `name` and whose labels include `labels`. */
const series = (name: string, labels: Record<string, string>) =>
  Effect.map(
    PrometheusMetrics.format(),
    (text) =>
      text.split("\n").filter((line) =>
        line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))
      )
  )

const countOf = (lines: ReadonlyArray<string>) => lines.map((line) => Number(line.split(" ").at(-1)))

const specBuckets = [
  "0.005",
  "0.01",
  "0.025",
  "0.05",
  "0.075",
  "0.1",
  "0.25",
  "0.5",
  "0.75",
  "1",
  "2.5",
  "5",
  "7.5",
  "10"
]

const bucketsOf = (lines: ReadonlyArray<string>) => lines.map((line) => /le="([^"]+)"/.exec(line)![1])

/** A port of 127.0.0.1 nobody listens on: bound, then closed. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
)

describe("ApmHttp", () => {
  it.live("the server span effect/http opens is the only one, named and recorded under the matched route", () => {
    const otel = tracing()
    return Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const alice = yield* client.get("/users/alice?tab=orders")
      const bob = yield* client.get("/users/bob")
      const down = yield* client.get("/boom")
      const missing = yield* client.get("/missing")
      const unmatched = yield* client.get("/nope/123")
      assert.deepStrictEqual([alice.status, yield* alice.text], [200, "Ada"])
      assert.deepStrictEqual([bob.status, down.status, yield* down.text], [200, 503, "down"])
      assert.deepStrictEqual([missing.status, unmatched.status], [404, 404])

      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(
        records.map((r) => [r.operationName, r.operationType, r.status, r.errorMessage]),
        [
          ["GET /users/:id", "http_request", "ok", undefined],
          ["GET /users/:id", "http_request", "ok", undefined],
          ["GET /boom", "http_request", "error", "HTTP 503"],
          ["GET /missing", "http_request", "ok", undefined],
          // No route: the path folded to a template, as before routes were known.
          ["GET /nope/:id", "http_request", "ok", undefined]
        ]
      )

      const spans = yield* otel.spans
      assert.strictEqual(ofKind(spans, SpanKind.INTERNAL).length, 0)
      const servers = ofKind(spans, SpanKind.SERVER)
      assert.deepStrictEqual(servers.map((s) => s.name), [
        "GET /users/:id",
        "GET /users/:id",
        "GET /boom",
        "GET /missing",
        "GET"
      ])
      const [first, , boom, notFound, none] = servers
      assert.strictEqual(first!.attributes["http.route"], "/users/:id")
      assert.strictEqual(first!.attributes["http.response.status_code"], 200)
      assert.strictEqual(first!.attributes["apm.operation.type"], "http_request")
      assert.strictEqual(boom!.status.code, SpanStatusCode.ERROR)
      assert.strictEqual(boom!.attributes["error.type"], "503")
      // A server 4xx is the client's mistake: not an error of the server span.
      assert.notStrictEqual(notFound!.status.code, SpanStatusCode.ERROR)
      assert.isUndefined(notFound!.attributes["error.type"])
      assert.isUndefined(none!.attributes["http.route"])
      // Every CLIENT span of the test's client is the parent of one SERVER span: no span in between.
      for (const span of servers) {
        assert.isTrue(
          spans.some((c) => c.kind === SpanKind.CLIENT && c.spanContext().spanId === span.parentSpanContext?.spanId)
        )
      }

      const users = yield* series("http_server_request_duration_seconds_bucket", {
        http_request_method: "GET",
        http_route: "/users/:id",
        http_response_status_code: "200",
        url_scheme: "http"
      })
      assert.deepStrictEqual(bucketsOf(users), [...specBuckets, "+Inf"])
      assert.deepStrictEqual(
        countOf(yield* series("http_server_request_duration_seconds_count", { http_route: "/users/:id" })),
        [2]
      )
      assert.deepStrictEqual(
        countOf(
          yield* series("http_server_request_duration_seconds_count", { error_type: "503", http_route: "/boom" })
        ),
        [1]
      )
    }).pipe(
      Effect.provide(server(Layer.merge(App, ApmHttp.layer))),
      Effect.provide(otel.layer),
      Effect.provide(ApmTest.layer())
    )
  })

  it.live("the traced client records each call on effect/http's CLIENT span; 4xx and 5xx are errors", () => {
    const otel = tracing()
    return Effect.gen(function*() {
      const client = ApmHttp.tracedClient(yield* HttpClient.HttpClient)
      const ok = yield* client.get("/users/7?token=t0ps3cret&page=1")
      const missing = yield* client.get("/missing")
      const down = yield* client.get("/boom")
      assert.deepStrictEqual([ok.status, missing.status, down.status], [200, 404, 503])
      assert.strictEqual(yield* missing.text, "no")

      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(
        records.map((r) => [r.operationName.replace(/:\d+\//, ":PORT/"), r.operationType, r.status, r.errorMessage]),
        [
          ["GET 127.0.0.1:PORT/users/:id", "external_api", "ok", undefined],
          ["GET 127.0.0.1:PORT/missing", "external_api", "error", "HTTP 404"],
          ["GET 127.0.0.1:PORT/boom", "external_api", "error", "HTTP 503"]
        ]
      )
      assert.strictEqual(records[1]!.attributes["error.type"], "404")
      assert.strictEqual(records[1]!.attributes["server.address"], "127.0.0.1")

      const spans = yield* otel.spans
      assert.strictEqual(ofKind(spans, SpanKind.INTERNAL).length, 0)
      const clients = ofKind(spans, SpanKind.CLIENT)
      assert.strictEqual(clients.length, 3)
      assert.deepStrictEqual(clients.map((s) => s.status.code === SpanStatusCode.ERROR), [false, true, true])
      assert.deepStrictEqual(clients.map((s) => s.attributes["error.type"]), [undefined, "404", "503"])
      // Redacted where effect/http writes it, for a tracer provider that is not ours to filter.
      assert.notInclude(String(clients[0]!.attributes["url.full"]), "t0ps3cret")
      assert.include(String(clients[0]!.attributes["url.full"]), "page=1")

      const notFound = yield* series("http_client_request_duration_seconds_count", {
        http_request_method: "GET",
        server_address: "127.0.0.1",
        http_response_status_code: "404",
        error_type: "404"
      })
      assert.deepStrictEqual(countOf(notFound), [1])
      const okBuckets = yield* series("http_client_request_duration_seconds_bucket", {
        http_response_status_code: "200"
      })
      assert.deepStrictEqual(bucketsOf(okBuckets), [...specBuckets, "+Inf"])
    }).pipe(Effect.provide(server(App)), Effect.provide(otel.layer), Effect.provide(ApmTest.layer()))
  })

  it.effect("server and client durations are read from the Clock: exactly the time the handler took", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const slow = HttpRouter.add(
        "GET",
        "/slow/:id",
        Deferred.succeed(started, undefined).pipe(
          Effect.andThen(Effect.sleep("250 millis")),
          Effect.as(HttpServerResponse.text("late"))
        )
      )
      yield* Effect.gen(function*() {
        const client = ApmHttp.tracedClient(yield* HttpClient.HttpClient)
        const call = yield* Effect.forkChild(client.get("/slow/1"))
        // The request reaches the handler on real I/O; the clock moves only when the test moves it.
        yield* Deferred.await(started)
        yield* TestClock.adjust("250 millis")
        assert.strictEqual((yield* Fiber.join(call)).status, 200)
      }).pipe(Effect.provide(server(Layer.merge(slow, ApmHttp.layer))))
      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(records.map((r) => [r.operationType, r.operationName.replace(/:\d+\//, ":PORT/")]), [
        ["http_request", "GET /slow/:id"],
        ["external_api", "GET 127.0.0.1:PORT/slow/:id"]
      ])
      assert.deepStrictEqual(records.map((r) => r.duration), [0.25, 0.25])
    }).pipe(Effect.provide(ApmTest.layer())))

  it.live("a failed call passes through unchanged and is recorded with its error type, the password redacted", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const client = yield* HttpClient.HttpClient
      const url = `http://admin:hunter2@127.0.0.1:${port}/users/alice@example.com?token=t0ps3cret&page=2`
      const untraced = yield* Effect.exit(client.get(url))
      const traced = yield* Effect.exit(ApmHttp.tracedClient(client).get(url))
      assert.isTrue(Exit.isFailure(untraced) && Exit.isFailure(traced))
      const reasonOf = (exit: typeof traced) =>
        Exit.isFailure(exit) ? Exit.findErrorOption(exit).pipe((o) => o._tag === "Some" ? o.value.reason._tag : "") : ""
      assert.strictEqual(reasonOf(traced), reasonOf(untraced))

      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.status, "error")
      assert.strictEqual(record!.attributes["error.type"], reasonOf(traced))
      assert.strictEqual(record!.operationName, `GET 127.0.0.1:${port}/users/:value`)
      const recorded = JSON.stringify(record)
      for (const secret of ["hunter2", "t0ps3cret", "alice@example.com"]) assert.notInclude(recorded, secret)
    }).pipe(Effect.provide(FetchHttpClient.layer), Effect.provide(ApmTest.layer())))
})
