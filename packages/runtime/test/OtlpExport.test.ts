import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { ConfigProvider, Effect, Exit, Layer, Logger, Metric, Schedule } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { collector } from "./support/SpanExportCollector.ts"
import { liveStack } from "./support/live.ts"

/** Builds the live stack configured by `env`, runs `work` in it and releases it: every signal's final flush. */
const runLive = <A, E>(
  env: Record<string, string>,
  work: Effect.Effect<A, E, Apm.Apm>,
  registry: Map<any, any> = new Map()
) =>
  Effect.scoped(
    Layer.build(
      liveStack("otlp-export-test").pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
    )
      .pipe(Effect.flatMap((context) => work.pipe(Effect.provideContext(context))))
  ).pipe(Effect.provideService(Metric.MetricRegistry, registry))

const storageWrite = Apm.trace(
  Effect.logWarning("plan storage write failed").pipe(Effect.annotateLogs({ "plan.id": "plan-7" })),
  "plan_storage_save",
  "database_query"
)

describe("OtlpExport", () => {
  it.live("sends traces, metrics and logs to /v1/*; each log record carries the id of an exported span", () =>
    Effect.gen(function*() {
      const c = yield* collector({ _tag: "ok" })
      yield* runLive(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint,
          OTEL_SERVICE_NAME: "otlp-export-service",
          OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test,team=apm%20core"
        },
        Effect.gen(function*() {
          yield* storageWrite
          yield* storageWrite
          yield* Effect.log("outside any span")
        })
      )
      assert.deepStrictEqual(
        new Set(c.requests.map((r) => r.path)),
        new Set(["/v1/traces", "/v1/metrics", "/v1/logs"])
      )
      for (const request of c.requests) {
        assert.strictEqual(request.contentType, "application/json")
        assert.strictEqual(request.resource["service.name"], "otlp-export-service")
        assert.strictEqual(request.resource["deployment.environment.name"], "test")
        assert.strictEqual(request.resource["team"], "apm core")
      }

      const spans = c.accepted.filter((s) => s.name === "plan_storage_save")
      assert.strictEqual(spans.length, 2)
      const warnings = c.logs.filter((l) => l.body === "plan storage write failed")
      assert.strictEqual(warnings.length, 2)
      for (const warning of warnings) {
        assert.strictEqual(warning.severityNumber, 13)
        assert.strictEqual(warning.attributes["plan.id"], "plan-7")
        assert.match(warning.traceId ?? "", /^[0-9a-f]{32}$/)
        const span = spans.find((s) => s.traceId === warning.traceId)
        assert.isDefined(span, `no exported span has the log record's trace id ${warning.traceId}`)
        assert.strictEqual(warning.spanId, span!.spanId)
      }
      assert.notStrictEqual(warnings[0]!.traceId, warnings[1]!.traceId)
      const outside = c.logs.find((l) => l.body === "outside any span")
      assert.isDefined(outside)
      assert.isUndefined(outside!.traceId)

      const operations = c.metrics.find((m) =>
        m.name === "apm_operations_total" && m.attributes["operation_name"] === "plan_storage_save"
      )
      assert.strictEqual(operations?.value, 2)
      assert.isDefined(c.metrics.find((m) => m.name === "apm_spans_exported_total"))
    }))

  it.live("sends OTEL_EXPORTER_OTLP_HEADERS, percent-decoded, with the per-signal ones overriding them", () =>
    Effect.gen(function*() {
      const c = yield* collector({ _tag: "ok" })
      yield* runLive({
        OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint,
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20general, x-tenant = acme%2Cinc",
        OTEL_EXPORTER_OTLP_LOGS_HEADERS: "authorization=Bearer%20logs"
      }, storageWrite)
      const byPath = (path: string) => c.requests.find((r) => r.path === path)!.headers
      for (const path of ["/v1/traces", "/v1/metrics"]) {
        assert.strictEqual(byPath(path)["authorization"], "Bearer general")
        assert.strictEqual(byPath(path)["x-tenant"], "acme,inc")
      }
      assert.strictEqual(byPath("/v1/logs")["authorization"], "Bearer logs")
      assert.strictEqual(byPath("/v1/logs")["x-tenant"], "acme,inc")
    }))

  it.live("a per-signal endpoint is used as it is; OTEL_*_EXPORTER=none turns one signal off", () =>
    Effect.gen(function*() {
      const c = yield* collector({ _tag: "ok" })
      yield* runLive({
        OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint,
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${c.endpoint}/custom/logs`,
        OTEL_METRICS_EXPORTER: "none"
      }, storageWrite)
      assert.deepStrictEqual(new Set(c.requests.map((r) => r.path)), new Set(["/v1/traces", "/custom/logs"]))
      assert.strictEqual(c.logs.filter((l) => l.body === "plan storage write failed").length, 1)
    }))

  it.live("OTEL_SDK_DISABLED=true exports nothing, and the traced work is the same", () =>
    Effect.gen(function*() {
      const c = yield* collector({ _tag: "ok" })
      const error = yield* Effect.flip(runLive(
        { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint, OTEL_SDK_DISABLED: "true" },
        Apm.trace(Effect.fail("boom"), "disabled_op", "custom_operation")
      ))
      assert.strictEqual(error, "boom")
      assert.deepStrictEqual(c.requests, [])
    }))

  it.live("an exported log record carries no secret: message, annotations and failure are redacted", () =>
    Effect.gen(function*() {
      const c = yield* collector({ _tag: "ok" })
      yield* runLive(
        { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint },
        Apm.trace(
          Effect.fail(new Error("connect https://bob:hunter2-password@db.example.com failed")).pipe(
            Effect.catchCause((cause) =>
              Effect.logWarning("retrying https://api.example.com/?token=tok-5ecret", cause)
            ),
            Effect.annotateLogs({ password: "hunter2-password", user: "alice@example.com" })
          ),
          "login",
          "custom_operation"
        )
      )
      const record = c.logs.find((l) => (l.body ?? "").startsWith("retrying"))
      assert.isDefined(record)
      const text = JSON.stringify(record)
      for (const secret of ["hunter2-password", "tok-5ecret", "alice@example.com"]) assert.notInclude(text, secret)
      assert.strictEqual(record!.attributes["password"], "[REDACTED]")
    }))

  it.live("OTEL_TRACES_SAMPLER=always_off exports no span; logs and metrics still go out", () =>
    Effect.gen(function*() {
      const c = yield* collector({ _tag: "ok" })
      yield* runLive({ OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint, OTEL_TRACES_SAMPLER: "always_off" }, storageWrite)
      assert.deepStrictEqual(c.accepted, [])
      assert.strictEqual(c.logs.filter((l) => l.body === "plan storage write failed").length, 1)
      assert.isDefined(c.metrics.find((m) => m.name === "apm_operations_total"))
    }))

  it.live("traceidratio samples by the ratio of OTEL_TRACES_SAMPLER_ARG", () =>
    Effect.gen(function*() {
      const c = yield* collector({ _tag: "ok" })
      yield* runLive(
        { OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" },
        storageWrite
      )
      assert.deepStrictEqual(c.accepted, [])
      const all = yield* collector({ _tag: "ok" })
      yield* runLive(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: all.endpoint,
          OTEL_TRACES_SAMPLER: "traceidratio",
          OTEL_TRACES_SAMPLER_ARG: "1"
        },
        storageWrite
      )
      assert.strictEqual(all.accepted.filter((s) => s.name === "plan_storage_save").length, 1)
    }))

  it.live("a collector refusing every signal changes nothing for the program: drops counted and warned", () =>
    Effect.gen(function*() {
      const c = yield* collector({ _tag: "status", status: 400 })
      const registry: Map<any, any> = new Map()
      const warnings: Array<string> = []
      const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push(globalThis.Array.isArray(message) ? message.join(" ") : String(message))
      })
      const result = yield* runLive({ OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint }, Effect.as(storageWrite, 42), registry)
        .pipe(Effect.provide(Logger.layer([logger])))
      assert.strictEqual(result, 42)
      assert.deepStrictEqual(new Set(c.requests.map((r) => r.path)), new Set(["/v1/traces", "/v1/metrics", "/v1/logs"]))
      const text = yield* PrometheusMetrics.format().pipe(Effect.provideService(Metric.MetricRegistry, registry))
      assert.include(text, `apm_log_records_dropped_total{reason="export_failed"} 1`)
      assert.include(text, "apm_metric_exports_failed_total 1")
      assert.include(text, `apm_spans_dropped_total{reason="export_failed"} 1`)
      // The warnings are logged by fibers of their own: wait for them, however long they take to run.
      const logged = (prefix: string) => warnings.some((w) => w.startsWith(prefix))
      const both = () =>
        logged("Dropped 1 log records: the collector did not take them") && logged("1 metric export failed")
      yield* Effect.sync(both).pipe(Effect.repeat({ until: (done) => done, schedule: Schedule.spaced("5 millis") }))
    }))

  const invalid: ReadonlyArray<[string, string]> = [
    ["OTEL_TRACES_EXPORTER", "zipkin"],
    ["OTEL_METRICS_EXPORTER", "prometheus"],
    ["OTEL_LOGS_EXPORTER", "console"],
    ["OTEL_TRACES_SAMPLER", "jaeger_remote"],
    ["OTEL_TRACES_SAMPLER_ARG", "1.5"],
    ["OTEL_SDK_DISABLED", "maybe"],
    ["OTEL_METRIC_EXPORT_INTERVAL", "soon"],
    ["OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%ZZsecret"],
    ["APM_LOG_FORMAT", "xml"]
  ]
  for (const [name, value] of invalid) {
    it.live(`${name}=${value} fails start-up with an error naming the variable`, () =>
      Effect.gen(function*() {
        const c = yield* collector({ _tag: "ok" })
        const exit = yield* Effect.exit(
          runLive({ OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint, [name]: value }, Effect.void)
        )
        assert.isTrue(Exit.isFailure(exit))
        const message = Exit.isFailure(exit) ? String(exit.cause) : ""
        assert.include(message, name)
        assert.notInclude(message, "secret")
      }))
  }
})
