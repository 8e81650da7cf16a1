import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, References, Schema } from "effect"
import { TestClock } from "effect/testing"
import { AnomalyDetector, Apm, ErrorType } from "../src/index.ts"
import { ApmRecorder, ApmTest, MetricSeries } from "../src/testing/index.ts"

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", {}) {}
class QuotaExceeded extends Error {}

const spanNamed = (name: string) => Effect.map(ApmRecorder.spans, (spans) => spans.find((s) => s.name === name)!)

describe("semantic conventions on spans", () => {
  it.effect("span kinds: internal by default, client for database, external API and model calls, server for HTTP", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.void, "report", "business_transaction")
      yield* Apm.trace(Effect.void, "SELECT users", "database_query")
      yield* Apm.trace(Effect.void, "stripe POST /v1/charges", "external_api")
      yield* Apm.trace(Effect.void, "chat claude", "model_request")
      yield* Apm.trace(Effect.void, "GET /users/:id", "http_request")
      yield* Apm.trace(Effect.void, "drain", "custom_operation", {}, { kind: "consumer" })
      const kinds = (yield* ApmRecorder.spans).map((s) => [s.name, s.kind])
      assert.deepStrictEqual(kinds, [
        ["report", "internal"],
        ["SELECT users", "client"],
        ["stripe POST /v1/charges", "client"],
        ["chat claude", "client"],
        ["GET /users/:id", "server"],
        ["drain", "consumer"]
      ])
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("error.type is the _tag, the class name or _OTHER, on the span, the record and apm_errors_total", () =>
    Effect.gen(function*() {
      yield* Effect.exit(Apm.trace(new CardDeclined(), "checkout", "business_transaction"))
      yield* Effect.exit(Apm.trace(Effect.die(new QuotaExceeded("over")), "checkout", "business_transaction"))
      yield* Effect.exit(Apm.trace(Effect.fail("plain text"), "checkout", "business_transaction"))
      yield* Apm.trace(Effect.void, "checkout", "business_transaction")
      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(records.map((r) => r.errorType), ["CardDeclined", "QuotaExceeded", "_OTHER", undefined])
      const spans = yield* ApmRecorder.spans
      assert.deepStrictEqual(spans.map((s) => s.attributes["error.type"]), [
        "CardDeclined",
        "QuotaExceeded",
        "_OTHER",
        undefined
      ])
      for (const [type, count] of [["CardDeclined", 1], ["QuotaExceeded", 1], ["_OTHER", 1]] as const) {
        const value = yield* MetricSeries.value("apm_errors_total", { operation_name: "checkout", error_type: type })
        assert.strictEqual(value, count, type)
      }
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("error_type label values are bounded per operation: past the cap they count as _OTHER", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 30; i++) {
        yield* Effect.exit(Apm.trace(Effect.fail({ _tag: `E${i}` }), "flaky", "custom_operation"))
      }
      const series = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => `E${i}`),
        (type) => MetricSeries.value("apm_errors_total", { operation_name: "flaky", error_type: type })
      )
      assert.strictEqual(series.filter((v) => v !== undefined).length, 20)
      const errors = { operation_name: "flaky", error_type: "_OTHER" }
      assert.strictEqual(yield* MetricSeries.value("apm_errors_total", errors), 10)
    }).pipe(Effect.provide(ApmTest.layer())))

  it("ErrorType.of never returns free text", () => {
    assert.strictEqual(ErrorType.of({ _tag: "a message with spaces" }), "_OTHER")
    assert.strictEqual(ErrorType.of({ _tag: "x".repeat(65) }), "_OTHER")
    assert.strictEqual(ErrorType.of({ message: "boom" }), "_OTHER")
    assert.strictEqual(ErrorType.of(new TypeError("boom")), "TypeError")
    assert.strictEqual(ErrorType.of(null), "_OTHER")
  })

  it.effect("an anomalous operation marks its own span: score, severity, and an event when the record opens", () =>
    Effect.gen(function*() {
      const run = (millis: number) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(Apm.trace(Effect.sleep(millis), "lookup", "custom_operation"))
          yield* TestClock.adjust(millis)
          yield* Fiber.join(fiber)
        })
      for (let i = 0; i < 200; i++) yield* run(100 + (i % 5))
      yield* run(2_000)
      yield* run(2_100)
      const spans = (yield* ApmRecorder.spans).filter((s) => s.name === "lookup")
      const normal = spans.slice(0, 200)
      assert.isTrue(normal.every((s) => s.attributes["apm.anomaly.score"] === undefined && s.events.length === 0))
      const [opened, ongoing] = spans.slice(200)
      const [anomaly] = yield* AnomalyDetector.AnomalyDetector.use((d) => d.recentAnomalies(1))
      assert.isNumber(opened!.attributes["apm.anomaly.score"])
      assert.strictEqual(opened!.attributes["apm.anomaly.severity"], anomaly!.severity)
      assert.deepStrictEqual(opened!.events.map((e) => e.name), ["apm.anomaly"])
      assert.strictEqual(opened!.events[0]!.attributes["apm.anomaly.kind"], "spike")
      // the same episode: marked, but no second event
      assert.isNumber(ongoing!.attributes["apm.anomaly.score"])
      assert.deepStrictEqual(ongoing!.events, [])
      assert.strictEqual(anomaly!.count, 2)
    }).pipe(Effect.provide(ApmTest.layer())))
})

describe("database conventions", () => {
  it.effect("profileQuery: CLIENT span named by db.query.summary, with db.system.name, and db.client.operation.duration", () =>
    Effect.gen(function*() {
      const query = Apm.profileQuery("SELECT * FROM users WHERE id = $1", { system: "postgresql" })
      const fiber = yield* Effect.forkChild(Effect.sleep(30).pipe(query))
      yield* TestClock.adjust(30)
      yield* Fiber.join(fiber)
      yield* Effect.exit(Effect.fail(new CardDeclined()).pipe(Apm.profileQuery("DELETE FROM carts")))

      const span = yield* spanNamed("SELECT users")
      assert.strictEqual(span.kind, "client")
      assert.strictEqual(span.attributes["db.system.name"], "postgresql")
      assert.strictEqual(span.attributes["db.query.summary"], "SELECT users")
      assert.strictEqual(span.attributes["db.operation.name"], "SELECT")
      assert.strictEqual(span.attributes["db.collection.name"], "users")

      const ok = yield* MetricSeries.state("db_client_operation_duration_seconds", {
        "db.system.name": "postgresql",
        "db.operation.name": "SELECT",
        "db.collection.name": "users"
      })
      assert.strictEqual(ok!["count"], 1)
      assert.strictEqual(ok!["sum"], 0.03)
      const buckets = [...(ok!["buckets"] as ReadonlyArray<readonly [number, number]>)].map(([b]) => b)
      assert.deepStrictEqual(buckets, [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, Infinity].slice(0, buckets.length))
      const failed = yield* MetricSeries.state("db_client_operation_duration_seconds", {
        "db.system.name": "other_sql",
        "db.operation.name": "DELETE",
        "error.type": "CardDeclined"
      })
      assert.strictEqual(failed!["count"], 1)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("traceDatabaseQuery records the same attributes and histogram for a query timed by the caller", () =>
    Effect.gen(function*() {
      yield* Apm.traceDatabaseQuery("INSERT INTO orders VALUES (1, 'x')", 0.002, true, { system: "mysql" })
      yield* Apm.traceDatabaseQuery("INSERT INTO orders VALUES (2, 'y')", 0.004, false, { system: "mysql" })
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.attributes["db.system.name"], "mysql")
      assert.strictEqual(record!.attributes["db.query.summary"], "INSERT orders")
      const ok = yield* MetricSeries.state("db_client_operation_duration_seconds", { "db.system.name": "mysql" })
      assert.strictEqual(ok!["count"], 1)
      const failed = yield* MetricSeries.state("db_client_operation_duration_seconds", { "error.type": "_OTHER" })
      assert.strictEqual(failed!["count"], 1)
    }).pipe(Effect.provide(ApmTest.layer()), Effect.provideService(References.MinimumLogLevel, "None")))
})
