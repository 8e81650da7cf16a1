import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { Apm, ApmConfig, ApmTesting, BaselineStore } from "../src/index.ts"
import { record } from "./support/records.ts"

const options = (overrides: Partial<ApmConfig.ApmOptions> = {}) =>
  Effect.runSync(ApmConfig.make({ baselineMinSamples: 5, baselineWindowSize: 10, ...overrides }))

describe("BaselineStore", () => {
  it("computes a baseline as soon as an operation has the minimum samples", () => {
    const store = BaselineStore.make(options())
    for (let i = 1; i <= 4; i++) store.observe(record("q", i / 10, i))
    assert.isUndefined(store.baselineOf("q"))
    store.observe(record("q", 0.5, 5))
    const baseline = store.baselineOf("q")!
    assert.strictEqual(baseline.sampleCount, 5)
    assert.closeTo(baseline.mean, 0.3, 1e-12)
    assert.closeTo(baseline.median, 0.3, 1e-12)
    assert.closeTo(baseline.stddev, Math.sqrt(0.025), 1e-12)
    assert.closeTo(baseline.p95, 0.48, 1e-12) // interpolated between the two largest samples
    assert.closeTo(baseline.p99, 0.496, 1e-12)
    assert.strictEqual(baseline.updatedAt, 5)
    assert.strictEqual(baseline.operationType, "http_request")
  })

  it("keeps the last baselineWindowSize samples", () => {
    const store = BaselineStore.make(options())
    for (let i = 0; i < 25; i++) store.observe(record("q", i, i))
    assert.deepStrictEqual(store.recentDurations("q", 100), [15, 16, 17, 18, 19, 20, 21, 22, 23, 24])
    assert.deepStrictEqual(store.recentDurations("q", 3), [22, 23, 24])
  })

  it("is bounded: past the operation cap, new operations get no window", () => {
    const store = BaselineStore.make(options({ maxOperations: 3 }))
    for (let i = 0; i < 1000; i++) store.observe(record(`op-${i}`, 1))
    const known = Array.from({ length: 1000 }, (_, i) => store.recentDurations(`op-${i}`, 1).length)
    assert.isAtMost(known.reduce((a, b) => a + b, 0), 3 + 10)
  })

  it.effect("Apm.baselines refresh every baselineUpdateInterval, driven by the clock", () =>
    Effect.gen(function*() {
      const run = (millis: number) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(Effect.sleep(millis).pipe(Apm.trace("page", "http_request")))
          yield* TestClock.adjust(millis)
          yield* Fiber.join(fiber)
        })
      for (let i = 0; i < 5; i++) yield* run(100)
      const [first] = yield* Apm.baselines
      assert.strictEqual(first!.mean, 0.1)
      for (let i = 0; i < 5; i++) yield* run(300)
      assert.strictEqual((yield* Apm.baselines)[0]!.mean, 0.1, "not recomputed before the interval")
      yield* TestClock.adjust("60 seconds")
      const [refreshed] = yield* Apm.baselines
      assert.closeTo(refreshed!.mean, 0.2, 1e-12)
      assert.strictEqual(refreshed!.sampleCount, 10)
      assert.isAbove(refreshed!.updatedAt, first!.updatedAt)
    }).pipe(Effect.provide(ApmTesting.make({ baselineMinSamples: 5, baselineUpdateInterval: 60 }))))

  it.effect("baselineEstimationEnabled: false turns baselines off", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 50; i++) yield* Apm.trace(Effect.void, "page", "http_request")
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Apm.baselines, [])
      assert.isTrue(Option.isSome(yield* Apm.summary("page")))
    }).pipe(Effect.provide(ApmTesting.make({ baselineEstimationEnabled: false, baselineMinSamples: 5 }))))

  it.effect("a snapshot restores windows and baselines", () =>
    Effect.gen(function*() {
      const before = BaselineStore.make(options())
      for (let i = 1; i <= 7; i++) before.observe(record("q", i / 10, i))
      const snapshot = yield* before.snapshot
      const after = BaselineStore.make(options(), snapshot)
      assert.deepStrictEqual(after.baselineOf("q"), before.baselineOf("q"))
      assert.deepStrictEqual(after.recentDurations("q", 10), before.recentDurations("q", 10))
    }))
})
