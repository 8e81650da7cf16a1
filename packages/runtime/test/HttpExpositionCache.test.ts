/**
 * `/metrics` and `/api/apm` are rendered at most once per cache interval:
 * within it every scraper gets the same rendering even though the counters
 * moved; past it (on the TestClock) the next scrape renders afresh. Clients
 * that accept gzip get the same document compressed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Metric } from "effect"
import { TestClock } from "effect/testing"
import { acceptsGzip } from "../src/internal/expositionCache.ts"
import { guardedServer, port, request } from "./support/http.ts"

const scrape = (path: string) =>
  Effect.flatMap(port, (p) => Effect.promise(() => fetch(`http://127.0.0.1:${p}${path}`).then((r) => r.text())))

const operations = (metrics: string) =>
  /apm_operations_total\{operation_name="cached_op"[^}]*\} (\d+)/.exec(metrics)?.[1]
const total = (api: string) =>
  (JSON.parse(api) as { summaries: Array<{ totalOperations: number }> }).summaries[0]?.totalOperations

const traced = Apm.trace(Effect.void, "cached_op", "custom_operation")

describe("HttpExpositionCache", () => {
  it.effect("two scrapes within the interval get the same body though the counters moved", () =>
    Effect.gen(function*() {
      yield* traced
      const first = yield* scrape("/metrics")
      const firstApi = yield* scrape("/api/apm")
      assert.strictEqual(operations(first), "1")
      assert.strictEqual(total(firstApi), 1)
      yield* traced
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(yield* scrape("/metrics"), first)
      assert.strictEqual(yield* scrape("/api/apm"), firstApi)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(operations(yield* scrape("/metrics")), "2")
      assert.strictEqual(total(yield* scrape("/api/apm")), 2)
    }).pipe(Effect.provide(guardedServer()), Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("concurrent scrapers past the interval all get one fresh rendering", () =>
    Effect.gen(function*() {
      yield* traced
      yield* scrape("/metrics")
      yield* traced
      yield* TestClock.adjust("1 second")
      const bodies = yield* Effect.all(Array.from({ length: 50 }, () => scrape("/metrics")), {
        concurrency: "unbounded"
      })
      assert.strictEqual(new Set(bodies).size, 1)
      assert.strictEqual(operations(bodies[0]!), "2")
    }).pipe(Effect.provide(guardedServer()), Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("the interval is an option", () =>
    Effect.gen(function*() {
      yield* traced
      const first = yield* scrape("/metrics")
      yield* traced
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(yield* scrape("/metrics"), first)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(operations(yield* scrape("/metrics")), "2")
    }).pipe(
      Effect.provide(guardedServer({ cacheInterval: "10 seconds" })),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.effect("a client that accepts gzip gets the same document gzipped, one that does not gets it plain", () =>
    Effect.gen(function*() {
      yield* traced
      const p = yield* port
      for (const path of ["/metrics", "/api/apm"]) {
        // fetch asks for gzip and inflates it
        const compressed = yield* Effect.promise(() => fetch(`http://127.0.0.1:${p}${path}`))
        assert.strictEqual(compressed.headers.get("content-encoding"), "gzip", path)
        assert.strictEqual(compressed.headers.get("vary"), "accept-encoding")
        const inflated = yield* Effect.promise(() => compressed.text())
        const plain = yield* request(p, path)
        assert.isUndefined(plain.headers["content-encoding"])
        assert.strictEqual(plain.body, inflated, path)
        const refused = yield* request(p, path, { headers: { "accept-encoding": "gzip;q=0, identity" } })
        assert.isUndefined(refused.headers["content-encoding"])
        assert.strictEqual(refused.body, inflated)
      }
    }).pipe(Effect.provide(guardedServer()), Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("Accept-Encoding: gzip, x-gzip and * admit gzip unless q=0", () =>
    Effect.sync(() => {
      for (const header of ["gzip", "deflate, gzip", "GZIP;q=0.5", "x-gzip", "*", "br;q=1, gzip;q=0.1"]) {
        assert.isTrue(acceptsGzip(header), header)
      }
      for (const header of [undefined, "", "identity", "br, deflate", "gzip;q=0", "*;q=0"]) {
        assert.isFalse(acceptsGzip(header), String(header))
      }
    }))

  it.live("a scrape opens no span: it is no operation of the application's", () => {
    const memory = new InMemorySpanExporter()
    const tracing = NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(memory) }))
    return Effect.gen(function*() {
      yield* traced
      yield* scrape("/metrics")
      yield* scrape("/api/apm")
      yield* scrape("/health")
      assert.deepStrictEqual(memory.getFinishedSpans().map((span) => span.name), ["cached_op"])
    }).pipe(
      Effect.provide(guardedServer().pipe(Layer.provideMerge(tracing))),
      Effect.provideService(Metric.MetricRegistry, new Map())
    )
  })
})
