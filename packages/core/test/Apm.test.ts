import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Logger, Metric, Option, References } from "effect"
import { TestClock } from "effect/testing"
import { Apm, ApmConfig } from "../src/index.ts"
import { ApmRecorder, ApmTest, MetricSeries, TestResourceMonitor } from "../src/testing/index.ts"
import { collectGarbage } from "./support/gc.ts"
import { operationValue } from "./support/metrics.ts"

const work = (millis: number) => Effect.sleep(millis).pipe(Effect.as(millis))

describe("Apm.trace", () => {
  it.effect("records a span, a record, the metrics and the summary of a success", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(
        work(250).pipe(Apm.trace("user_login", "http_request", { user_id: "123" }))
      )
      yield* TestClock.adjust(250)
      assert.strictEqual(yield* Fiber.join(fiber), 250)

      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.name, "user_login")
      assert.deepStrictEqual(span!.attributes, { user_id: "123", "apm.operation.type": "http_request" })
      assert.strictEqual(span!.status, "ok")

      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.operationName, "user_login")
      assert.strictEqual(record!.operationType, "http_request")
      assert.strictEqual(record!.duration, 0.25)
      assert.strictEqual(record!.endTime - record!.startTime, 250)
      assert.strictEqual(record!.status, "ok")
      assert.isTrue(record!.success)
      assert.isFalse(record!.slow)
      assert.isUndefined(record!.errorMessage)
      assert.deepStrictEqual(record!.attributes, { user_id: "123" })

      assert.strictEqual(yield* operationValue("apm_operations_total", "user_login"), 1)
      // apm_errors_total is by error_type: no series until an operation fails
      assert.isUndefined(yield* operationValue("apm_errors_total", "user_login"))
      assert.strictEqual(yield* operationValue("apm_active_operations", "user_login"), 0)
      const histogram = yield* MetricSeries.state("apm_operation_duration_seconds", {
        operation_name: "user_login",
        operation_type: "http_request"
      })
      assert.strictEqual(histogram!["count"], 1)
      assert.strictEqual(histogram!["sum"], 0.25)

      const summary = Option.getOrThrow(yield* Apm.summary("user_login"))
      assert.strictEqual(summary.totalOperations, 1)
      assert.strictEqual(summary.successRate, 1)
      assert.strictEqual(summary.p50Duration, 0.25)
      assert.strictEqual(summary.lastSeen, record!.endTime)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("data-first and data-last forms are the same", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.succeed(1), "first", "custom_operation")
      yield* Effect.succeed(2).pipe(Apm.trace("last", "custom_operation"))
      const names = (yield* ApmRecorder.operations).map((r) => r.operationName)
      assert.deepStrictEqual(names, ["first", "last"])
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("with businessTransactionMonitoringEnabled off, business transactions run untraced and others traced", () =>
    Effect.gen(function*() {
      const checkout = Apm.fn("checkout", "business_transaction")(function*(n: number) {
        return yield* Effect.succeed(n + 1)
      })
      assert.strictEqual(yield* checkout(1), 2)
      const failed = yield* Effect.exit(Apm.trace(Effect.fail("declined"), "refund", "business_transaction"))
      assert.deepStrictEqual(failed, Exit.fail("declined"))
      yield* Apm.trace(Effect.void, "lookup", "database_query")
      assert.deepStrictEqual((yield* ApmRecorder.operations).map((r) => r.operationName), ["lookup"])
      assert.deepStrictEqual((yield* ApmRecorder.spans).map((s) => s.name), ["lookup"])
      assert.isTrue(Option.isNone(yield* Apm.summary("checkout")))
    }).pipe(Effect.provide(ApmTest.layer({ businessTransactionMonitoringEnabled: false }))))

  it.effect("a typed failure passes through and is recorded as an error", () =>
    Effect.gen(function*() {
      const declined = { _tag: "CardDeclined", message: "card declined" }
      const error = yield* Effect.flip(Effect.fail(declined).pipe(Apm.trace("checkout", "business_transaction")))
      assert.strictEqual(error, declined)
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.status, "error")
      assert.isFalse(record!.success)
      assert.strictEqual(record!.errorMessage, "card declined")
      assert.strictEqual(yield* operationValue("apm_errors_total", "checkout"), 1)
      assert.strictEqual((yield* ApmRecorder.spans)[0]!.status, "error")
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("a defect passes through and is recorded as a defect", () =>
    Effect.gen(function*() {
      const boom = new Error("boom")
      const exit = yield* Effect.exit(Effect.die(boom).pipe(Apm.trace("crash", "custom_operation")))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.strictEqual(Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined, boom)
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.status, "defect")
      assert.strictEqual(record!.errorMessage, "boom")
      assert.strictEqual(yield* operationValue("apm_errors_total", "crash"), 1)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("an interruption mid-flight passes through and leaves no active operation", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.never.pipe(Apm.trace("hang", "external_api")))
      yield* TestClock.adjust(100)
      assert.strictEqual(yield* operationValue("apm_active_operations", "hang"), 1)
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))
      assert.strictEqual(yield* operationValue("apm_active_operations", "hang"), 0)
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.status, "interrupted")
      assert.strictEqual(record!.duration, 0.1)
      assert.strictEqual((yield* ApmRecorder.spans)[0]!.status, "interrupted")
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("the active gauge is back to 0 after each outcome", () =>
    Effect.gen(function*() {
      const outcomes = [Effect.succeed(1), Effect.fail("no"), Effect.die("dead"), Effect.interrupt]
      for (const outcome of outcomes) yield* Effect.exit(outcome.pipe(Apm.trace("mixed", "custom_operation")))
      assert.strictEqual(yield* operationValue("apm_active_operations", "mixed"), 0)
      const statuses = (yield* ApmRecorder.operations).map((r) => r.status)
      assert.deepStrictEqual(statuses, ["ok", "error", "defect", "interrupted"])
      const summary = Option.getOrThrow(yield* Apm.summary("mixed"))
      assert.strictEqual(summary.totalOperations, 4)
      assert.strictEqual(summary.successCount, 1)
      assert.strictEqual(summary.errorCount, 2)
      assert.strictEqual(summary.successRate, 0.25)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("recorded error messages are truncated", () =>
    Effect.gen(function*() {
      yield* Effect.exit(Effect.fail(new Error("x".repeat(10_000))).pipe(Apm.trace("big", "custom_operation")))
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.errorMessage!.length, 512)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("slow operations are counted against the threshold of their type", () =>
    Effect.gen(function*() {
      const run = (name: string, type: "database_query" | "external_api" | "http_request", millis: number) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(work(millis).pipe(Apm.trace(name, type)))
          yield* TestClock.adjust(millis)
          yield* Fiber.join(fiber)
        })
      yield* run("query", "database_query", 600) // over 0.5 s
      yield* run("api", "external_api", 1500) // under 2 s
      yield* run("page", "http_request", 1500) // over 1 s
      assert.strictEqual(yield* operationValue("apm_slow_operations_total", "query"), 1)
      assert.strictEqual(yield* operationValue("apm_slow_operations_total", "api"), 0)
      assert.strictEqual(yield* operationValue("apm_slow_operations_total", "page"), 1)
      assert.strictEqual(Option.getOrThrow(yield* Apm.summary("page")).slowCount, 1)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("summaries cover every operation, with percentiles", () =>
    Effect.gen(function*() {
      for (let i = 1; i <= 100; i++) {
        const fiber = yield* Effect.forkChild(work(i).pipe(Apm.trace("ladder", "custom_operation")))
        yield* TestClock.adjust(i)
        yield* Fiber.join(fiber)
      }
      yield* Apm.trace(Effect.void, "other", "custom_operation")
      const all = yield* Apm.summaries
      assert.deepStrictEqual(all.map((s) => s.operationName).sort(), ["ladder", "other"])
      const ladder = all.find((s) => s.operationName === "ladder")!
      assert.strictEqual(ladder.minDuration, 0.001)
      assert.strictEqual(ladder.maxDuration, 0.1)
      assert.closeTo(ladder.meanDuration, 0.0505, 1e-12)
      assert.closeTo(ladder.p50Duration, 0.05, 0.0011)
      assert.closeTo(ladder.p95Duration, 0.095, 0.0011)
      assert.closeTo(ladder.p99Duration, 0.099, 0.0011)
      assert.isTrue(Option.isNone(yield* Apm.summary("never_ran")))
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("Apm.fn traces each call of a generator function", () =>
    Effect.gen(function*() {
      const checkout = Apm.fn("checkout", "business_transaction", { shop: "eu" })(function*(items: number) {
        if (items === 0) return yield* Effect.fail("empty cart")
        return items * 10
      })
      assert.strictEqual(yield* checkout(3), 30)
      assert.deepStrictEqual(yield* Effect.flip(checkout(0)), "empty cart")
      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(records.map((r) => [r.operationName, r.status]), [["checkout", "ok"], [
        "checkout",
        "error"
      ]])
      assert.deepStrictEqual(records[0]!.attributes, { shop: "eu" })
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("recordMeasured records an operation the caller timed itself, without a span", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust(10_000)
      yield* Apm.recordMeasured({
        name: "GET /users/:id",
        type: "http_request",
        duration: 1.5,
        status: "error",
        errorMessage: "HTTP 503",
        errorType: "503",
        attributes: { "http.response.status_code": 503 }
      })
      const [record] = yield* ApmRecorder.operations
      assert.deepStrictEqual(record, {
        operationName: "GET /users/:id",
        operationType: "http_request",
        startTime: 8_500,
        endTime: 10_000,
        duration: 1.5,
        status: "error",
        success: false,
        slow: true,
        errorMessage: "HTTP 503",
        errorType: "503",
        attributes: { "http.response.status_code": 503 }
      })
      assert.deepStrictEqual(yield* ApmRecorder.spans, [])
      const errors = { operation_name: "GET /users/:id", error_type: "503" }
      assert.strictEqual(yield* MetricSeries.value("apm_errors_total", errors), 1)
      assert.strictEqual(yield* operationValue("apm_slow_operations_total", "GET /users/:id"), 1)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("nested operations nest their spans", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Apm.trace(Effect.void, "inner", "database_query"), "outer", "http_request")
      const spans = yield* ApmRecorder.spans
      const inner = spans.find((s) => s.name === "inner")!
      const outer = spans.find((s) => s.name === "outer")!
      assert.strictEqual(inner.parentSpanId, outer.spanId)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("enabled: false is a pass-through: no span, no metric, no record", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Effect.succeed(7).pipe(Apm.trace("off", "custom_operation")), 7)
      assert.strictEqual(yield* Effect.flip(Effect.fail("e").pipe(Apm.trace("off", "custom_operation"))), "e")
      assert.deepStrictEqual(yield* ApmRecorder.spans, [])
      assert.deepStrictEqual(yield* ApmRecorder.operations, [])
      assert.deepStrictEqual(yield* Metric.snapshot, [])
      assert.deepStrictEqual(yield* Apm.summaries, [])
    }).pipe(Effect.provide(ApmTest.layer({ enabled: false }))))

  it.effect("past maxOperations distinct names, new names fold into one overflow name", () =>
    Effect.gen(function*() {
      const names = 2_000
      for (let i = 0; i < names; i++) yield* Apm.trace(Effect.void, `op-${i}`, "custom_operation")
      const summaries = yield* Apm.summaries
      assert.strictEqual(summaries.length, 101)
      const overflow = summaries.find((s) => s.operationName === "apm_overflow")!
      assert.strictEqual(overflow.totalOperations, names - 100)
      assert.strictEqual(Option.getOrThrow(yield* Apm.summary("op-99")).totalOperations, 1)
      assert.isTrue(Option.isNone(yield* Apm.summary("op-100")))
      const series = (yield* Metric.snapshot).filter((s) => s.id === "apm_operations_total")
      assert.strictEqual(series.length, 101)
      assert.strictEqual(yield* operationValue("apm_operations_total", "apm_overflow"), names - 100)
    }).pipe(Effect.provide(ApmTest.layer({ maxOperations: 100 }))))

  it.effect("memory stays flat past the cap", () =>
    Effect.gen(function*() {
      const batch = (from: number) =>
        Effect.forEach(Array.from({ length: 20_000 }, (_, i) => from + i), (i) =>
          Apm.trace(Effect.void, `name-${i}`, "custom_operation"), { discard: true })
      yield* batch(0)
      collectGarbage()
      const before = process.memoryUsage().heapUsed
      yield* batch(20_000)
      yield* batch(40_000)
      collectGarbage()
      const growth = process.memoryUsage().heapUsed - before
      // 40,000 more names; a leak of even 100 bytes each would show as 4 MB.
      assert.isBelow(growth, 4 * 1000 * 1000)
    }).pipe(
      // The live layers: ApmTest's recorder keeps every record by design.
      Effect.provide(Apm.layerWithoutResources.pipe(Layer.provide(ApmConfig.ApmConfig.layer({ maxOperations: 100 })))),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.effect("debugMode logs each finished operation at Debug level", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
        lines.push(`${logLevel} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
      yield* Effect.exit(Effect.fail("x").pipe(Apm.trace("audited", "database_query"))).pipe(
        Effect.provide(Logger.layer([logger])),
        Effect.provideService(References.MinimumLogLevel, "Debug")
      )
      assert.strictEqual(lines.length, 1)
      assert.match(lines[0]!, /^Debug audited \(database_query\) error in 0\.000 ms$/)
    }).pipe(Effect.provide(ApmTest.layer({ debugMode: true }))))

  it.effect("without debugMode nothing is logged", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make<unknown, void>(() => void lines.push("x"))
      yield* Apm.trace(Effect.void, "quiet", "custom_operation").pipe(
        Effect.provide(Logger.layer([logger])),
        Effect.provideService(References.MinimumLogLevel, "Debug")
      )
      assert.deepStrictEqual(lines, [])
    }).pipe(Effect.provide(ApmTest.layer())))
})

describe("Apm.layer and the resource monitor", () => {
  const config = ApmConfig.ApmConfig.layer({ memorySampleRate: 1 })
  /** What a sampled operation, `resourceUsage` and insights show of the monitor. */
  const observed = Effect.gen(function*() {
    yield* Apm.trace(Effect.void, "sampled", "custom_operation")
    const [summary] = yield* Apm.summaries
    return {
      usage: yield* Apm.resourceUsage,
      sampled: yield* MetricSeries.value("apm_memory_usage_bytes", { operation_name: summary!.operationName }),
      insights: (yield* Apm.insights).map((i) => i.type)
    }
  })
  const highUsage = {
    ...TestResourceMonitor.usage,
    cpu: { ...TestResourceMonitor.usage.cpu, machine: 97 }
  }

  it.effect("provided over it, the monitor feeds sampling, resourceUsage and the resource insights", () =>
    Effect.gen(function*() {
      yield* TestResourceMonitor.set(highUsage)
      const seen = yield* observed
      assert.deepStrictEqual(seen.usage, Option.some(highUsage))
      assert.strictEqual(seen.sampled, 1)
      assert.include(seen.insights, "high_cpu_usage")
    }).pipe(
      Effect.provide(Apm.layer.pipe(Layer.provideMerge(TestResourceMonitor.layer()), Layer.provide(config))),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.effect("merged beside it, the monitor leaves Apm.layer's requirement open: a type error, and a defect", () =>
    Effect.gen(function*() {
      const beside = Layer.merge(Apm.layer, TestResourceMonitor.layer()).pipe(Layer.provide(config))
      // @ts-expect-error the monitor beside does not reach Apm.layer, which still needs a ResourceMonitor
      const closed: Layer.Layer<Apm.Apm> = beside
      const exit = yield* Effect.exit(Layer.build(closed))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      assert.include(String(Exit.isFailure(exit) ? Cause.squash(exit.cause) : ""), "ResourceMonitor")
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))

  it.effect("layerWithoutResources samples nothing and reports no resources, whatever is beside it", () =>
    Effect.gen(function*() {
      yield* TestResourceMonitor.set(highUsage)
      const seen = yield* observed
      assert.deepStrictEqual(seen.usage, Option.none())
      assert.isUndefined(seen.sampled)
      assert.notInclude(seen.insights, "high_cpu_usage")
    }).pipe(
      Effect.provide(Layer.merge(Apm.layerWithoutResources.pipe(Layer.provide(config)), TestResourceMonitor.layer())),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))
})

describe("ApmTest", () => {
  it.effect("keeps each layer's operations, spans and metrics to itself", () =>
    Effect.gen(function*() {
      const traceOnce = Effect.gen(function*() {
        yield* Apm.trace(Effect.void, "isolated", "custom_operation")
        return {
          operations: (yield* ApmRecorder.operations).length,
          spans: (yield* ApmRecorder.spans).length,
          calls: yield* MetricSeries.value("apm_operations_total", { operation_name: "isolated" })
        }
      })
      const first = yield* traceOnce.pipe(Effect.provide(ApmTest.layer()))
      const second = yield* traceOnce.pipe(Effect.provide(ApmTest.layer()))
      assert.deepStrictEqual(first, { operations: 1, spans: 1, calls: 1 })
      assert.deepStrictEqual(second, first)
      // and nothing reached the registry of the test itself
      assert.isUndefined(yield* MetricSeries.value("apm_operations_total", { operation_name: "isolated" }))
    }))
})
