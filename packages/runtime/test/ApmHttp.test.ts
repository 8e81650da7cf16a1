import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ApmRecorder, ApmTest } from "@mcp-apm/core"
import { Effect, Layer } from "effect"
import { HttpClient, HttpRouter, HttpServerResponse } from "effect/http"
import { ApmHttp } from "../src/index.ts"

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

describe("ApmHttp", () => {
  it.live("the middleware traces each request under its route template; 5xx is an error, the response unchanged", () =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const ok = yield* client.get("/users/42?tab=orders")
      const down = yield* client.get("/boom")
      const missing = yield* client.get("/missing")
      assert.deepStrictEqual([ok.status, yield* ok.text], [200, "Ada"])
      assert.deepStrictEqual([down.status, yield* down.text], [503, "down"])
      assert.strictEqual(missing.status, 404)
      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(
        records.map((r) => [r.operationName, r.operationType, r.status, r.errorMessage]),
        [
          ["GET /users/:id", "http_request", "ok", undefined],
          ["GET /boom", "http_request", "error", "HTTP 503"],
          ["GET /missing", "http_request", "ok", undefined]
        ]
      )
      const span = (yield* ApmRecorder.spans).find((s) => s.name === "GET /users/:id")!
      assert.strictEqual(span.attributes["http.response.status_code"], 200)
      assert.strictEqual(span.attributes["http.route"], "/users/:id")
    }).pipe(Effect.provide(server(Layer.merge(App, ApmHttp.layer))), Effect.provide(ApmTest)))

  it.live("the traced client records each call as an external API under host and template", () =>
    Effect.gen(function*() {
      const client = ApmHttp.tracedClient(yield* HttpClient.HttpClient)
      const ok = yield* client.get("/users/7")
      const down = yield* client.get("/boom")
      assert.deepStrictEqual([ok.status, down.status], [200, 503])
      const records = yield* ApmRecorder.operations
      assert.strictEqual(records.length, 2)
      assert.match(records[0]!.operationName, /^GET 127\.0\.0\.1:\d+\/users\/:id$/)
      assert.strictEqual(records[0]!.operationType, "external_api")
      assert.strictEqual(records[0]!.status, "ok")
      assert.match(records[1]!.operationName, /^GET 127\.0\.0\.1:\d+\/boom$/)
      assert.strictEqual(records[1]!.status, "error")
    }).pipe(Effect.provide(server(App)), Effect.provide(ApmTest)))
})
