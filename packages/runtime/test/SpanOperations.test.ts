import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Apm, ApmConfig, SpanOperations } from "@mcp-apm/core"
import type { PerformanceMetrics } from "@mcp-apm/core"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Metric } from "effect"
import { HttpClient, HttpRouter, HttpServerResponse } from "effect/http"

const App = Layer.mergeAll(
  HttpRouter.add("GET", "/users/:id", HttpServerResponse.text("Ada")),
  HttpRouter.add("GET", "/boom", HttpServerResponse.text("down", { status: 503 }))
)

const exported = new InMemorySpanExporter()
const records: Array<PerformanceMetrics.PerformanceMetrics> = []

const apm = Apm.layerWithoutResources.pipe(
  Layer.provide(ApmConfig.ApmConfig.layer({})),
  Layer.provide(Layer.succeed(Apm.OperationListeners, [(record) => void records.push(record)])),
  Layer.provide(Layer.succeed(Metric.MetricRegistry, new Map()))
)
// As ApmLive wires it: the bridge over the OpenTelemetry tracer, which still exports every span.
const tracing = SpanOperations.layerSelection(SpanOperations.parse("http")!).pipe(
  Layer.provideMerge(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exported) }))),
  Layer.provideMerge(apm)
)
// effect/http's own server and client on 127.0.0.1, no Apm code in the app
const server = HttpRouter.serve(App, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provideMerge(tracing)
)

describe("SpanOperations over effect/http", () => {
  it.live("server spans become operations named by the matched route; client spans by host and path", () =>
    Effect.gen(function*() {
      records.length = 0
      exported.reset()
      const client = yield* HttpClient.HttpClient
      for (const id of ["alice", "bob", "42"]) assert.strictEqual((yield* client.get(`/users/${id}`)).status, 200)
      assert.strictEqual((yield* client.get("/boom")).status, 503)
      assert.strictEqual((yield* client.get("/nowhere/7")).status, 404)

      const server = records.filter((r) => r.operationType === "http_request")
      assert.deepStrictEqual(server.map((r) => [r.operationName, r.status, r.errorType]), [
        ["GET /users/:id", "ok", undefined],
        ["GET /users/:id", "ok", undefined],
        ["GET /users/:id", "ok", undefined],
        ["GET /boom", "error", "503"],
        // no route matched: the path, folded to a template
        ["GET /nowhere/:id", "ok", undefined]
      ])
      const summaries = yield* Apm.summaries
      assert.strictEqual(summaries.find((s) => s.operationName === "GET /users/:id")!.totalOperations, 3)

      const calls = records.filter((r) => r.operationType === "external_api")
      assert.deepStrictEqual(calls.slice(2).map((r) => [r.operationName, r.status, r.errorType]), [
        ["GET 127.0.0.1/users/:id", "ok", undefined],
        ["GET 127.0.0.1/boom", "error", "503"],
        // the HTTP conventions: a 4xx response is a client error
        ["GET 127.0.0.1/nowhere/:id", "error", "404"]
      ])
      assert.isTrue(calls.every((r) => r.duration > 0))

      // the spans are exported as they would be without the bridge
      const spans = exported.getFinishedSpans()
      assert.strictEqual(spans.length, 10)
      assert.isTrue(spans.some((s) => s.attributes["http.route"] === "/users/:id"))
    }).pipe(Effect.provide(server)))
})
