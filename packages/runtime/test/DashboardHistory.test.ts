/**
 * The dashboard's history under the TestClock: per-interval aggregates of
 * real traced operations (count, errors, p50, p95, the baseline as it was),
 * resource readings, `since` and the operation filter, and memory that stays
 * flat over a long run with more operations than the cap.
 */
import { assert, describe, it } from "@effect/vitest"
import { AnomalyDetector, Apm, ApmConfig, BaselineStore } from "@mcp-apm/core"
import { TestResourceMonitor } from "@mcp-apm/core/testing"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as History from "../src/dashboard/History.ts"

const stack = (options: History.HistoryOptions) =>
  Apm.layerNoDeps.pipe(
    Layer.provideMerge(History.layerWith(options)),
    Layer.provideMerge(AnomalyDetector.layer),
    Layer.provideMerge(BaselineStore.layer),
    Layer.provideMerge(TestResourceMonitor.layer()),
    Layer.provideMerge(ApmConfig.ApmConfig.layer({ baselineUpdateInterval: 1 }))
  )

const operation = (name: string, millis: number, fail = false) =>
  Effect.sleep(Duration.millis(millis)).pipe(
    Effect.andThen(fail ? Effect.fail("boom") : Effect.void),
    Apm.trace(name, "custom_operation"),
    Effect.ignore
  )

describe("DashboardHistory", () => {
  it.effect("keeps one point per interval: count, errors, p50, p95 and the baseline of the moment", () =>
    Effect.gen(function*() {
      const history = yield* History.History
      // interval 1: ten operations of 10..100 ms, two failing
      for (let i = 1; i <= 10; i++) {
        yield* Effect.forkChild(operation("checkout", i * 10, i > 8))
      }
      yield* TestClock.adjust("1 second")
      const first = yield* history.query({ operations: ["checkout"] })
      assert.strictEqual(first.interval, 1)
      assert.strictEqual(first.operations.length, 1)
      const point = first.operations[0]!.points
      assert.deepStrictEqual(point.count, [10])
      assert.deepStrictEqual(point.errors, [2])
      assert.deepStrictEqual(point.p50, [0.055])
      assert.deepStrictEqual(point.p95, [0.0955])
      // an idle interval has no percentiles, but the baseline learnt from the first one
      yield* TestClock.adjust("1 second")
      const second = yield* history.query({ operations: ["checkout"], since: point.time[0]! })
      const idle = second.operations[0]!.points
      assert.strictEqual(idle.time.length, 1)
      assert.deepStrictEqual(idle.count, [0])
      assert.deepStrictEqual(idle.p50, [null])
      assert.isNotNull(idle.baselineMean[0])
      assert.isTrue(idle.baselineStddev[0]! > 0)
      assert.deepStrictEqual(second.resources.time, idle.time)
      assert.deepStrictEqual(second.resources.rss, [TestResourceMonitor.usage.memory.rss])
      assert.deepStrictEqual((yield* history.query({ operations: ["nope"] })).operations, [])
    }).pipe(Effect.provide(stack({ interval: Duration.seconds(1), size: 10, maxOperations: 10 }))))

  it.effect("memory stays flat over a long run with more operations than the cap", () =>
    Effect.gen(function*() {
      const history = yield* History.History
      const round = (r: number) =>
        Effect.gen(function*() {
          for (let i = 0; i < 60; i++) {
            yield* Effect.forkChild(operation(`op-${i}`, 1 + ((i * 7 + r) % 20), i % 9 === 0))
          }
          yield* TestClock.adjust("1 second")
        })
      for (let r = 0; r < 40; r++) yield* round(r)
      const early = yield* history.retainedBytes
      for (let r = 40; r < 400; r++) yield* round(r)
      const late = yield* history.retainedBytes
      assert.strictEqual(late, early)
      const document = yield* history.query({})
      assert.strictEqual(document.operations.length, 50)
      assert.isTrue(document.droppedOperations > 0)
      for (const op of document.operations) assert.strictEqual(op.points.time.length, 30)
      assert.strictEqual(document.resources.time.length, 30)
    }).pipe(Effect.provide(stack({ interval: Duration.seconds(1), size: 30, maxOperations: 50 }))))

  it.effect("a bad APM_HISTORY_* value fails with an error naming the variable", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) =>
        Effect.flip(Effect.provide(History.config, ConfigProvider.layer(ConfigProvider.fromUnknown(env))))
      assert.include((yield* read({ APM_HISTORY_SIZE: "1" })).message, "APM_HISTORY_SIZE")
      assert.include((yield* read({ APM_HISTORY_INTERVAL: "10 millis" })).message, "APM_HISTORY_INTERVAL")
      const defaults = yield* Effect.provide(History.config, ConfigProvider.layer(ConfigProvider.fromUnknown({})))
      assert.strictEqual(defaults.size, 300)
    }))
})
