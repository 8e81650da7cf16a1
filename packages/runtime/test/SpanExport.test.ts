import { assert, describe, it } from "@effect/vitest"
import { ApmConfig } from "@mcp-apm/core"
import { Cause, ConfigProvider, Duration, Effect, Exit, Layer, Logger, Metric, Option } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { BasicTracerProvider, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import { RuntimeConfig, SpanExport, Tracing } from "../src/index.ts"
import { type Behaviour, collector } from "./support/SpanExportCollector.ts"

/** `Tracing.layer` alone, configured as a service would be from the environment `env`. */
const exportLayer = (env: Record<string, string>, shutdownTimeout: Duration.Input = "1 second") =>
  Tracing.layer.pipe(
    Layer.provide(RuntimeConfig.layer({
      host: "127.0.0.1",
      port: 0,
      serviceName: "span-export-test",
      baselineFile: "unused.json",
      profileDirectory: Option.none(),
      httpToken: Option.none(),
      shutdownTimeout: Duration.fromInputUnsafe(shutdownTimeout)
    })),
    Layer.provide(ApmConfig.ApmConfig.layer()),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
  )

/** Runs `work` with span export to `endpoint` and releases the layer, keeping the warnings it logged. */
const runExporting = <A, E>(
  work: Effect.Effect<A, E>,
  env: Record<string, string>,
  shutdownTimeout?: Duration.Input
) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
      if (logLevel === "Warn") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const exit = yield* Effect.scoped(
      Layer.build(exportLayer(env, shutdownTimeout)).pipe(
        Effect.flatMap((context) => Effect.exit(work.pipe(Effect.provideContext(context))))
      )
    ).pipe(Effect.provide(Logger.layer([logger])))
    // The warning is logged by a fiber of its own.
    yield* Effect.yieldNow
    return { exit, warnings }
  })

/** The export counters as `/metrics` shows them. */
const exportCounts = Effect.map(PrometheusMetrics.format(), (text) => {
  const value = (series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(series + " "))
    return line === undefined ? undefined : Number(line.slice(series.length + 1))
  }
  return {
    exported: value("apm_spans_exported_total"),
    queue_full: value(`apm_spans_dropped_total{reason="queue_full"}`),
    export_failed: value(`apm_spans_dropped_total{reason="export_failed"}`),
    too_large: value(`apm_spans_dropped_total{reason="too_large"}`)
  }
})

const spans = (count: number, name = "op") =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => Effect.succeed(i).pipe(Effect.withSpan(name)), {
    discard: true
  })

type Collector = Effect.Success<ReturnType<typeof collector>>

/** A collector playing `behaviour` for `f`, and a metric registry of the test's own. */
const withCollector = <A, E>(behaviour: Behaviour, f: (c: Collector) => Effect.Effect<A, E>) =>
  Effect.flatMap(collector(behaviour), f).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))

describe("SpanExport", () => {
  it.live("a healthy collector gets every span, one request at a time, at most a batch each", () =>
    withCollector({ _tag: "ok" }, (c) =>
      Effect.gen(function*() {
        const { exit, warnings } = yield* runExporting(spans(1500), { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint })
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(c.accepted.length, 1500)
        assert.strictEqual(c.state.maxOpen, 1)
        assert.isAtLeast(c.state.requests, 3)
        assert.deepStrictEqual(yield* exportCounts, { exported: 1500, queue_full: 0, export_failed: 0, too_large: 0 })
        assert.deepStrictEqual(warnings, [])
      })))

  for (const status of [400, 404, 500]) {
    it.live(`a ${status} (not retryable) changes nothing in the program: spans dropped, counted, logged once`, () =>
      withCollector({ _tag: "status", status }, (c) =>
        Effect.gen(function*() {
          const failing = Effect.fail("boom").pipe(Effect.withSpan("failing"))
          const { exit, warnings } = yield* runExporting(
            Effect.andThen(spans(1100), failing),
            { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint }
          )
          assert.isTrue(Exit.isFailure(exit) && Cause.squash(exit.cause) === "boom")
          // Three batches, each tried once: a non-retryable answer is final.
          assert.strictEqual(c.state.requests, 3)
          assert.deepStrictEqual(yield* exportCounts, { exported: 0, queue_full: 0, export_failed: 1101, too_large: 0 })
          assert.strictEqual(warnings.length, 1)
          assert.match(warnings[0]!, /^Dropped 512 spans: the collector did not take them/)
        })))
  }

  it.live("a 503 with Retry-After is retried, and the batch arrives once the collector recovers", () =>
    withCollector(
      { _tag: "status", status: 503, headers: { "retry-after": "1" }, times: 1 },
      (c) =>
        Effect.gen(function*() {
          const { exit } = yield* runExporting(spans(10), { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint }, "3 seconds")
          assert.isTrue(Exit.isSuccess(exit))
          assert.strictEqual(c.state.requests, 2)
          assert.strictEqual(c.accepted.length, 10)
          assert.deepStrictEqual(yield* exportCounts, { exported: 10, queue_full: 0, export_failed: 0, too_large: 0 })
        })
    ))

  for (const [status, headers] of [[503, {}], [429, { "retry-after": "1" }]] as const) {
    it.live(`a collector that keeps answering ${status} gets a bounded number of retries, never two at once`, () =>
      withCollector({ _tag: "status", status, headers }, (c) =>
        Effect.gen(function*() {
          const { exit, warnings } = yield* runExporting(
            spans(10),
            { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint },
            "3 seconds"
          )
          assert.isTrue(Exit.isSuccess(exit))
          // One batch, retried after about a second (the SDK's backoff, or Retry-After) while the 3 s budget lasts.
          assert.isAtLeast(c.state.requests, 2)
          assert.isAtMost(c.state.requests, 3)
          assert.strictEqual(c.state.maxOpen, 1)
          assert.deepStrictEqual(yield* exportCounts, { exported: 0, queue_full: 0, export_failed: 10, too_large: 0 })
          assert.strictEqual(warnings.length, 1)
        })))
  }

  it.live("a hanging collector: one request open, the queue bounded, every span counted", () =>
    withCollector({ _tag: "hang" }, (c) =>
      Effect.gen(function*() {
        const { exit, warnings } = yield* runExporting(spans(5000), { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint })
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(c.state.maxOpen, 1)
        assert.isAtMost(c.state.requests, 2)
        // 512 went out (and hung), 2048 waited in the queue, the rest found it full.
        assert.deepStrictEqual(yield* exportCounts, {
          exported: 0,
          queue_full: 5000 - 512 - 2048,
          export_failed: 512 + 2048,
          too_large: 0
        })
        assert.strictEqual(warnings.length, 2)
        assert.match(warnings.join("\n"), /Dropped 2440 spans: the export queue is full \(2048 spans\)/)
      })))

  it.live("huge error messages are truncated, a span too large even then is dropped alone", () =>
    withCollector({ _tag: "ok" }, (c) =>
      Effect.gen(function*() {
        const huge = "x".repeat(10_000_000)
        const failures = Effect.forEach(
          Array.from({ length: 20 }),
          () => Effect.exit(Effect.fail(new Error(huge)).pipe(Effect.withSpan("huge"))),
          { discard: true }
        )
        const oversized = Effect.void.pipe(Effect.withSpan("n".repeat(2_000_000)))
        const { exit } = yield* runExporting(Effect.all([spans(200), failures, oversized, spans(200)]), {
          OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint
        })
        assert.isTrue(Exit.isSuccess(exit))
        const limit = ApmConfig.defaults.maxAttributeLength
        const received = c.accepted.filter((s) => s.name === "huge")
        assert.strictEqual(received.length, 20)
        assert.strictEqual(c.accepted.filter((s) => s.name === "op").length, 400)
        for (const span of received) {
          assert.strictEqual(span.statusMessage!.length, limit)
          const exception = span.events.find((e) => e.name === "exception")!
          assert.strictEqual(exception.attributes["exception.message"]!.length, limit)
          assert.isAtMost(exception.attributes["exception.stacktrace"]!.length, limit)
        }
        assert.deepStrictEqual(yield* exportCounts, { exported: 420, queue_full: 0, export_failed: 0, too_large: 1 })
      })))

  it.live("a batch of wide spans is cut into requests a collector takes (4 MiB each at most)", () =>
    withCollector({ _tag: "ok" }, (c) =>
      Effect.gen(function*() {
        const value = "v".repeat(ApmConfig.defaults.maxAttributeLength)
        const attributes = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`attribute.${i}`, value]))
        const wide = Effect.forEach(
          Array.from({ length: 20 }),
          () => Effect.void.pipe(Effect.withSpan("wide", { attributes })),
          { discard: true }
        )
        const { exit } = yield* runExporting(wide, { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint })
        assert.isTrue(Exit.isSuccess(exit))
        // About 415 kB each, 8.3 MB in all: ten spans to a request.
        assert.strictEqual(c.state.requests, 2)
        assert.isAtMost(c.state.maxBodyBytes, 4 * 1024 * 1024)
        assert.isAtLeast(c.state.maxBodyBytes, 3 * 1024 * 1024)
        assert.strictEqual(c.accepted.length, 20)
        assert.deepStrictEqual(yield* exportCounts, { exported: 20, queue_full: 0, export_failed: 0, too_large: 0 })
      })))

  it.live("without an endpoint nothing is exported and no export metric is shown", () =>
    Effect.gen(function*() {
      const { exit } = yield* runExporting(spans(10), {})
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(yield* exportCounts, {
        exported: undefined,
        queue_full: undefined,
        export_failed: undefined,
        too_large: undefined
      })
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  const bad: ReadonlyArray<Record<string, string>> = [
    { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_BSP_MAX_QUEUE_SIZE: "lots" },
    { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_EXPORTER_OTLP_TIMEOUT: "-5" },
    { OTEL_EXPORTER_OTLP_ENDPOINT: "127.0.0.1:4318" }
  ]
  for (const env of bad) {
    const [variable, value] = Object.entries(env).at(-1)!
    it.effect(`${variable}=${value} fails start-up naming the variable`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Layer.build(exportLayer(env)))
        assert.include(String(error), variable)
      }).pipe(Effect.scoped))
  }

  it.live("an empty endpoint is no endpoint, as for the SDK", () =>
    Effect.gen(function*() {
      const { exit } = yield* runExporting(spans(1), { OTEL_EXPORTER_OTLP_ENDPOINT: "" })
      assert.isTrue(Exit.isSuccess(exit))
      assert.isUndefined((yield* exportCounts).exported)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("an exporter that never calls back holds the queue only until its guard", () =>
    Effect.gen(function*() {
      const silent: SpanExporter = { export: () => {}, shutdown: () => Promise.resolve() }
      const processor = SpanExport.make({
        exporter: () => silent,
        exportTimeoutMillis: 50,
        flushTimeoutMillis: 10_000,
        maxQueueSize: 10,
        maxExportBatchSize: 2,
        scheduledDelayMillis: 5000,
        maxAttributeLength: 100
      })
      const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer("test")
      for (let i = 0; i < 4; i++) tracer.startSpan("s").end()
      // Both batches were tried in turn, each given up on after its guard, and the flush returned.
      yield* Effect.promise(() => processor.forceFlush())
      assert.strictEqual(processor.dropped("export_failed"), 4)
      assert.strictEqual(processor.exported(), 0)
    }))
})
