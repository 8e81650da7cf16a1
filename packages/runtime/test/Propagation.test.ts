import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"

import { SpanKind } from "@opentelemetry/api"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpRouter, HttpServerResponse } from "effect/http"
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { ApmHttp } from "../src/index.ts"
import { baseUrl } from "./support/live.ts"
import { ApmTest } from "@mcp-apm/core/testing"

/** A server on 127.0.0.1 that answers 204 and keeps the headers of every request it receives. */
const downstream = Effect.gen(function*() {
  const received: Array<IncomingHttpHeaders> = []
  const server = createServer((req, res) => {
    received.push(req.headers)
    res.writeHead(204).end()
  })
  yield* Effect.acquireRelease(
    Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
    () => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`, received }
})

/**
 * The service under test: an effect/http server with `ApmHttp.layer` whose
 * `/call` handler calls `target` through the traced client, on the
 * OpenTelemetry SDK.
 */
const service = (target: string, exporter: InMemorySpanExporter) =>
  HttpRouter.serve(
    Layer.merge(
      HttpRouter.add(
        "GET",
        "/call",
        Effect.gen(function*() {
          const client = ApmHttp.tracedClient(yield* HttpClient.HttpClient)
          const answer = yield* client.get(target)
          return HttpServerResponse.text(String(answer.status))
        }).pipe(Effect.provide(FetchHttpClient.layer), Effect.orDie)
      ),
      ApmHttp.layer
    ),
    { disableLogger: true, disableListenLog: true }
  ).pipe(
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) }))),
    Layer.provideMerge(ApmTest.layer())
  )

/** Calls `/call` from outside, with plain `fetch` and the given headers. */
const callWith = (headers: Record<string, string>) =>
  Effect.flatMap(baseUrl, (base) =>
    Effect.promise(async () => {
      const response = await fetch(`${base}/call`, { headers })
      return { status: response.status, body: await response.text() }
    }))

const traceId = "0af7651916cd43dd8448eb211c80319c"
const parentId = "b7ad6b7169203331"

const parse = (traceparent: string | string[] | undefined) => {
  const [version, trace, parent, flags] = String(traceparent).split("-")
  return { version, trace, parent, flags }
}

/** Runs `f` against the service in front of a fresh downstream, with the spans the service exported. */
const scenario = <A>(
  f: (
    down: Effect.Success<typeof downstream>,
    spans: () => ReturnType<InMemorySpanExporter["getFinishedSpans"]>
  ) => Effect.Effect<A, never, any>
) =>
  Effect.gen(function*() {
    const down = yield* downstream
    const exporter = new InMemorySpanExporter()
    return yield* f(down, () => exporter.getFinishedSpans()).pipe(Effect.provide(service(down.url, exporter)))
  })

describe("Propagation", () => {
  it.live("a request that arrives with a parent continues its trace; its calls carry traceparent and tracestate", () =>
    scenario((down, spans) =>
      Effect.gen(function*() {
        const answer = yield* callWith({
          traceparent: `00-${traceId}-${parentId}-01`,
          tracestate: "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"
        })
        assert.deepStrictEqual(answer, { status: 200, body: "204" })

        const serverSpan = spans().find((s) => s.kind === SpanKind.SERVER)!
        assert.strictEqual(serverSpan.spanContext().traceId, traceId)
        assert.strictEqual(serverSpan.parentSpanContext?.spanId, parentId)
        assert.strictEqual(serverSpan.name, "GET /call")
        const clientSpan = spans().find((s) => s.kind === SpanKind.CLIENT)!
        assert.strictEqual(clientSpan.parentSpanContext?.spanId, serverSpan.spanContext().spanId)

        assert.strictEqual(down.received.length, 1)
        const [headers] = down.received
        const sent = parse(headers!.traceparent)
        assert.deepStrictEqual([sent.version, sent.trace, sent.flags], ["00", traceId, "01"])
        // The downstream's parent is the client span, not the caller's span nor the server span.
        assert.strictEqual(sent.parent, clientSpan.spanContext().spanId)
        assert.strictEqual(headers!.tracestate, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
      })
    ))

  it.live("a request without a parent starts a trace of its own, and its calls carry it without tracestate", () =>
    scenario((down, spans) =>
      Effect.gen(function*() {
        yield* callWith({})
        const serverSpan = spans().find((s) => s.kind === SpanKind.SERVER)!
        assert.isUndefined(serverSpan.parentSpanContext)
        const sent = parse(down.received[0]!.traceparent)
        assert.strictEqual(sent.trace, serverSpan.spanContext().traceId)
        assert.notStrictEqual(sent.trace, traceId)
        assert.isUndefined(down.received[0]!.tracestate)
      })
    ))

  it.live("a malformed traceparent starts a new trace and its tracestate is not forwarded", () =>
    scenario((down, spans) =>
      Effect.gen(function*() {
        yield* callWith({ traceparent: `00-${"0".repeat(32)}-${parentId}-01`, tracestate: "rojo=00f067aa0ba902b7" })
        const serverSpan = spans().find((s) => s.kind === SpanKind.SERVER)!
        assert.isUndefined(serverSpan.parentSpanContext)
        assert.isUndefined(down.received[0]!.tracestate)
      })
    ))

  it.live("a malformed tracestate is dropped, the trace still continued", () =>
    scenario((down) =>
      Effect.gen(function*() {
        yield* callWith({ traceparent: `00-${traceId}-${parentId}-01`, tracestate: "no equals sign,=" })
        assert.strictEqual(parse(down.received[0]!.traceparent).trace, traceId)
        assert.isUndefined(down.received[0]!.tracestate)
      })
    ))
})
