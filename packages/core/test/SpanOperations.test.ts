import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Fiber, Layer, References, Schema, Tracer } from "effect"
import { TestClock } from "effect/testing"
import { AnomalyDetector, Apm, ApmConfig, BaselineStore, SpanOperations } from "../src/index.ts"
import { ApmRecorder, ApmTest, MetricSeries } from "../src/testing/index.ts"

const bridged = (selection: string, overrides: Parameters<typeof ApmTest.layer>[0] = {}) =>
  SpanOperations.layer.pipe(
    Layer.provideMerge(ApmTest.layer(overrides)),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ APM_TRACE_SPANS: selection })))
  )

class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { id: Schema.String }) {}

const findUser = Effect.fn("UserRepo.find")(function*(id: string) {
  yield* Effect.sleep(20)
  if (id === "nobody") return yield* new UserNotFound({ id })
  return id
})

const timed = <A, E>(effect: Effect.Effect<A, E>, millis: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.exit(effect))
    yield* TestClock.adjust(millis)
    return yield* Fiber.join(fiber)
  })

describe("SpanOperations", () => {
  it.effect("all: Effect.fn and Effect.withSpan spans become operations, timed by their spans", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* timed(findUser("alice"), 20), Exit.succeed("alice"))
      yield* timed(Effect.sleep(5).pipe(Effect.withSpan("cache.refresh")), 5)
      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(records.map((r) => [r.operationName, r.operationType, r.duration, r.status]), [
        ["UserRepo.find", "custom_operation", 0.02, "ok"],
        ["cache.refresh", "custom_operation", 0.005, "ok"]
      ])
      assert.strictEqual(yield* MetricSeries.value("apm_operations_total", { operation_name: "UserRepo.find" }), 1)
    }).pipe(Effect.provide(bridged("all"))))

  it.effect("a failed span is an error with error.type, on the record, the metric label and the span", () =>
    Effect.gen(function*() {
      const exit = yield* timed(findUser("nobody"), 20)
      assert.isTrue(Exit.isFailure(exit), "the failure passes through unchanged")
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.status, "error")
      assert.strictEqual(record!.errorType, "UserNotFound")
      assert.strictEqual(
        yield* MetricSeries.value("apm_errors_total", { operation_name: "UserRepo.find", error_type: "UserNotFound" }),
        1
      )
    }).pipe(Effect.provide(bridged("all"))))

  it.effect("spans made by Apm.trace are counted once", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.withSpan(Effect.void, "inner.step"), "checkout", "business_transaction")
      const names = (yield* ApmRecorder.operations).map((r) => r.operationName).sort()
      assert.deepStrictEqual(names, ["checkout", "inner.step"])
    }).pipe(Effect.provide(bridged("all"))))

  it.effect("operations are named and typed from database and GenAI attributes, with their kinds", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(Effect.withSpan("pg.query", {
        kind: "client",
        attributes: {
          "db.system.name": "postgresql",
          "db.query.summary": "SELECT users",
          "db.operation.name": "SELECT"
        }
      }))
      yield* Effect.void.pipe(Effect.withSpan("sql", {
        kind: "client",
        attributes: { "db.system.name": "mysql", "db.operation.name": "INSERT", "db.collection.name": "orders" }
      }))
      yield* Effect.void.pipe(Effect.withSpan("llm", {
        kind: "client",
        attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-sonnet" }
      }))
      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(records.map((r) => [r.operationName, r.operationType]), [
        ["SELECT users", "database_query"],
        ["INSERT orders", "database_query"],
        ["chat claude-sonnet", "model_request"]
      ])
      assert.strictEqual(records[0]!.attributes["db.system.name"], "postgresql")
    }).pipe(Effect.provide(bridged("all"))))

  it.effect("a name filter selects the spans it matches, and only those", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(Effect.withSpan("Billing.charge"))
      yield* Effect.void.pipe(Effect.withSpan("Billing.refund"))
      yield* Effect.void.pipe(Effect.withSpan("UserRepo.find"))
      yield* Effect.void.pipe(Effect.withSpan("audit"))
      const names = (yield* ApmRecorder.operations).map((r) => r.operationName)
      assert.deepStrictEqual(names, ["Billing.charge", "Billing.refund", "audit"])
    }).pipe(Effect.provide(bridged("Billing.*, audit"))))

  it.effect("http selects HTTP spans only; none selects nothing", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(Effect.withSpan("UserRepo.find"))
      yield* Effect.void.pipe(Effect.withSpan("http.server GET", {
        kind: "server",
        attributes: { "http.request.method": "GET", "http.route": "/users/:id", "http.response.status_code": 200 }
      }))
      const names = (yield* ApmRecorder.operations).map((r) => [r.operationName, r.operationType])
      assert.deepStrictEqual(names, [["GET /users/:id", "http_request"]])
    }).pipe(Effect.provide(bridged("http"))))

  it.effect("none leaves the tracer alone", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(Effect.withSpan("UserRepo.find"))
      assert.deepStrictEqual(yield* ApmRecorder.operations, [])
      assert.strictEqual((yield* ApmRecorder.spans).length, 1)
    }).pipe(Effect.provide(bridged("none"))))

  it.effect("span names keep the operation table's cardinality bound", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 12; i++) yield* Effect.void.pipe(Effect.withSpan(`job-${i}`))
      const names = new Set((yield* Apm.summaries).map((s) => s.operationName))
      assert.strictEqual(names.size, 5)
      assert.isTrue(names.has("apm_overflow"))
    }).pipe(Effect.provide(bridged("all", { maxOperations: 4 }))))

  it.effect("a bad APM_TRACE_SPANS fails naming the variable and what was expected", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(bridged("Billing.*,,audit")))
      assert.include(String(error), "APM_TRACE_SPANS")
      assert.include(String(error), "comma-separated list of span-name patterns")
    }))

  it("parse reads none, http, all and lists of patterns", () => {
    assert.strictEqual(SpanOperations.parse("none"), SpanOperations.none)
    assert.isTrue(SpanOperations.parse(" all ")!.all)
    const list = SpanOperations.parse("http,Repo.*")!
    assert.isTrue(list.http)
    assert.isTrue(list.names[0]!.test("Repo.find"))
    assert.isFalse(list.names[0]!.test("MyRepo.find"))
    assert.isUndefined(SpanOperations.parse(""))
    assert.isUndefined(SpanOperations.parse("a b"))
    assert.isUndefined(SpanOperations.parse("http,all"))
  })
})

describe("SpanOperations, when recording fails", () => {
  it.effect("a listener that throws costs the span and the application nothing", () =>
    Effect.gen(function*() {
      const options = yield* ApmConfig.make()
      const baselines = BaselineStore.make(options)
      const apm = Apm.make(options, {
        baselines,
        detector: AnomalyDetector.make(options, baselines),
        listeners: [() => {
          throw new Error("listener bug")
        }]
      })
      const ended: Array<string> = []
      const inner = Tracer.make({
        span: (spanOptions) => {
          const span = new Tracer.NativeSpan(spanOptions)
          const end = span.end.bind(span)
          span.end = (endTime, exit) => {
            ended.push(span.name)
            end(endTime, exit)
          }
          return span
        }
      })
      const tracer = SpanOperations.make(inner, apm, SpanOperations.parse("all")!, yield* Effect.context<never>())
      const result = yield* Effect.succeed(42).pipe(Effect.withSpan("step"), Effect.withTracer(tracer))
      assert.strictEqual(result, 42)
      assert.deepStrictEqual(ended, ["step"])
    }).pipe(Effect.provideService(References.MinimumLogLevel, "None")))
})
