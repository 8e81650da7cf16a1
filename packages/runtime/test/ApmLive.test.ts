import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { ConfigProvider, Effect, Layer, Metric, Option } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { baseUrl, liveStack } from "./support/live.ts"

const live = liveStack("apm-live-test")

describe("ApmLive", () => {
  it.live("serves the core metrics on /metrics, bound to 127.0.0.1", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.sleep(5), "live_op", "http_request")
      const url = yield* baseUrl
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
      const response = yield* Effect.promise(() => fetch(`${url}/metrics`))
      assert.strictEqual(response.status, 200)
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain/)
      const text = yield* Effect.promise(() => response.text())
      assert.include(text, `apm_operations_total{operation_name="live_op",operation_type="http_request"} 1`)
      assert.include(text, "# HELP apm_operation_duration_seconds")
      const health = yield* Effect.promise(() => fetch(`${url}/health`))
      assert.strictEqual(yield* Effect.promise(() => health.text()), "ok")
    }).pipe(Effect.provide(live), Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("serves the dashboard page and its JSON, hostile operation names as data only", () =>
    Effect.gen(function*() {
      const hostile = "<script>alert(1)</script>"
      yield* Apm.trace(Effect.void, hostile, "custom_operation")
      const url = yield* baseUrl
      const page = yield* Effect.promise(() => fetch(`${url}/`))
      assert.strictEqual(page.status, 200)
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/)
      assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'; script-src 'self';/)
      const html = yield* Effect.promise(() => page.text())
      assert.include(html, `<script src="/assets/dashboard.js"></script>`)
      assert.notInclude(html, "innerHTML")
      const api = yield* Effect.promise(() => fetch(`${url}/api/apm`))
      assert.match(api.headers.get("content-type") ?? "", /^application\/json/)
      const data = (yield* Effect.promise(() => api.json())) as {
        summaries: Array<{ operationName: string }>
        baselines: Array<unknown>
        anomalies: Array<unknown>
        insights: Array<unknown>
      }
      assert.deepStrictEqual(data.summaries.map((s) => s.operationName), [hostile])
      assert.deepStrictEqual([data.baselines, data.anomalies, data.insights], [[], [], []])
    }).pipe(Effect.provide(live), Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("exports spans over OTLP/HTTP, counts them on /metrics and flushes them on shutdown", () =>
    Effect.gen(function*() {
      const received: Array<{ url: string; body: Buffer }> = []
      const collector = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          received.push({ url: req.url ?? "", body: Buffer.concat(chunks) })
          res.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => collector.close(() => resolve())))
      )
      const { port } = collector.address() as AddressInfo
      // The batch processor holds the span until the layer is released.
      const environment = ConfigProvider.fromEnv({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` } })
      yield* Effect.scoped(
        Layer.build(live.pipe(Layer.provide(ConfigProvider.layer(environment)))).pipe(
          Effect.flatMap((context) =>
            Effect.gen(function*() {
              yield* Apm.trace(Effect.void, "exported_op", "external_api", { "peer.service": "billing" })
              const url = yield* baseUrl
              // Export happens at release: while running, the counters show on /metrics at zero.
              const metrics = yield* Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text()))
              assert.include(metrics, "apm_spans_exported_total 0")
              for (const reason of ["queue_full", "export_failed", "too_large"]) {
                assert.include(metrics, `apm_spans_dropped_total{reason="${reason}"} 0`)
              }
            }).pipe(Effect.provideContext(context))
          )
        )
      )
      const traces = received.filter((r) => r.url === "/v1/traces")
      assert.strictEqual(traces.length, 1)
      const payload = traces[0]!.body.toString("latin1")
      assert.include(payload, "exported_op")
      assert.include(payload, "apm.operation.type")
      assert.include(payload, "apm-live-test")
    }))

  it.live("with APM_TRACE_SPANS, the app's own spans become operations, and Apm.trace's are counted once", () =>
    Effect.gen(function*() {
      const environment = ConfigProvider.fromEnv({ env: { APM_TRACE_SPANS: "all" } })
      yield* Effect.scoped(
        Layer.build(live.pipe(Layer.provide(ConfigProvider.layer(environment)))).pipe(
          Effect.flatMap((context) =>
            Effect.gen(function*() {
              yield* Effect.sleep(2).pipe(Effect.withSpan("UserRepo.find"))
              yield* Apm.trace(Effect.void, "traced_once", "custom_operation")
              const own = Option.getOrThrow(yield* Apm.summary("UserRepo.find"))
              assert.strictEqual(own.totalOperations, 1)
              assert.strictEqual(own.operationType, "custom_operation")
              assert.strictEqual(Option.getOrThrow(yield* Apm.summary("traced_once")).totalOperations, 1)
            }).pipe(Effect.provideContext(context))
          )
        )
      )
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})
