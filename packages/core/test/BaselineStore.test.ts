import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { Apm, ApmConfig, BaselineStore, OperationType, PerformanceMetrics } from "../src/index.ts"
import { ApmTest } from "../src/testing/index.ts"
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

  it("is bounded: past the operation cap, the least recently seen operation gives way", () => {
    const store = BaselineStore.make(options({ maxOperations: 3 }))
    const capacity = 3 + OperationType.operationTypes.length
    for (let i = 0; i < capacity; i++) store.observe(record(`op-${i}`, 1, i))
    store.observe(record("op-0", 1, capacity)) // op-0 is now the most recent, op-1 the least
    store.observe(record("new", 1, capacity + 1))
    assert.deepStrictEqual(store.recentDurations("new", 5), [1])
    assert.deepStrictEqual(store.recentDurations("op-0", 5), [1, 1])
    assert.deepStrictEqual(store.recentDurations("op-1", 5), [])
    for (let i = 0; i < 1000; i++) store.observe(record(`flood-${i}`, 1, capacity + 2 + i))
    const known = Array.from({ length: 1000 }, (_, i) => store.recentDurations(`flood-${i}`, 1).length)
    assert.strictEqual(known.reduce((a, b) => a + b, 0), capacity)
    assert.deepStrictEqual(known.slice(-capacity), new Array(capacity).fill(1), "the most recent ones stay")
  })

  it.effect("1,000 stale names restored from a file give way to the current operations, restart after restart", () =>
    Effect.gen(function*() {
      const config = options({ maxOperations: 1000 })
      const stale = {
        format: "mcp-apm/baselines" as const,
        version: 1 as const,
        savedAt: 2_000,
        operations: Array.from({ length: 1000 + OperationType.operationTypes.length }, (_, i) => ({
          operationName: `retired-${i}`,
          operationType: "http_request" as const,
          samples: [0.1, 0.2, 0.3, 0.4, 0.5],
          lastSeenAt: 1_000 + i
        }))
      }
      let snapshot: BaselineStore.BaselineSnapshot = stale
      for (let restart = 0; restart < 3; restart++) {
        const store = BaselineStore.make(config, snapshot)
        for (let i = 1; i <= 5; i++) store.observe(record(`current-${restart}`, i / 10, 10_000 * (restart + 1) + i))
        for (let previous = 0; previous <= restart; previous++) {
          assert.isDefined(store.baselineOf(`current-${previous}`), `current-${previous} after restart ${restart}`)
        }
        assert.isUndefined(store.baselineOf("retired-0"))
        snapshot = { ...(yield* store.snapshot), savedAt: 10_000 * (restart + 1) + 10 }
        assert.strictEqual(snapshot.operations.length, 1000 + OperationType.operationTypes.length)
      }
      const names = new Set(snapshot.operations.map((operation) => operation.operationName))
      assert.isFalse(names.has("retired-0") || names.has("retired-1") || names.has("retired-2"))
      assert.isTrue(names.has(`retired-${1000 + OperationType.operationTypes.length - 1}`), "the most recent stay")
    }))

  it("refuses names longer than maxOperationNameLength and durations no operation has", () => {
    const store = BaselineStore.make(options())
    const long = "x".repeat(PerformanceMetrics.maxOperationNameLength + 1)
    store.observe(record(long, 0.1))
    assert.deepStrictEqual(store.recentDurations(long, 5), [])
    for (const duration of [-0.001, Number.NaN, Number.POSITIVE_INFINITY, 1e308, BaselineStore.longestDuration * 2]) {
      store.observe(record("q", duration))
    }
    store.observe(record("q", 0))
    store.observe(record("q", BaselineStore.longestDuration))
    assert.deepStrictEqual(store.recentDurations("q", 10), [0, BaselineStore.longestDuration])
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
    }).pipe(Effect.provide(ApmTest.layer({ baselineMinSamples: 5, baselineUpdateInterval: 60 }))))

  it.effect("baselineEstimationEnabled: false turns baselines off", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 50; i++) yield* Apm.trace(Effect.void, "page", "http_request")
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(yield* Apm.baselines, [])
      assert.isTrue(Option.isSome(yield* Apm.summary("page")))
    }).pipe(Effect.provide(ApmTest.layer({ baselineEstimationEnabled: false, baselineMinSamples: 5 }))))

  it.effect("a snapshot restores windows and baselines", () =>
    Effect.gen(function*() {
      const before = BaselineStore.make(options())
      for (let i = 1; i <= 7; i++) before.observe(record("q", i / 10, i))
      const snapshot = yield* before.snapshot
      const after = BaselineStore.make(options(), snapshot)
      assert.deepStrictEqual(after.baselineOf("q"), before.baselineOf("q"))
      assert.deepStrictEqual(after.recentDurations("q", 10), before.recentDurations("q", 10))
    }))

  it.effect("decodeSnapshot drops invalid entries one by one and says how many and why", () =>
    Effect.gen(function*() {
      const good = (name: string) => ({ operationName: name, operationType: "http_request", samples: [0.1, 0.2] })
      const baseline = { operationName: "bad-count", operationType: "http_request", mean: 0.1, median: 0.1, p95: 0.1 }
      const entries = [
        good("a"),
        { ...good("negative"), samples: [0.1, -1] },
        { ...good("huge"), samples: [1e308] },
        { ...good("nan"), samples: [null] },
        { ...good("bad-count"), baseline: { ...baseline, p99: 0.1, stddev: 0, sampleCount: 2.5, updatedAt: 1 } },
        { ...good("negative-count"), baseline: { ...baseline, p99: 0.1, stddev: 0, sampleCount: -3, updatedAt: 1 } },
        { ...good("x".repeat(PerformanceMetrics.maxOperationNameLength + 1)) },
        { ...good("other"), baseline: { ...baseline, p99: 0.1, stddev: 0, sampleCount: 2, updatedAt: 1 } },
        good("a"),
        "not an entry",
        good("b")
      ]
      // 1e999 is how JSON spells a number that parses to Infinity
      const text = JSON.stringify({ format: "mcp-apm/baselines", version: 1, savedAt: 5, operations: entries })
        .replace("[1e+308]", "[1e999]")
      const { dropped, firstProblem, snapshot } = yield* BaselineStore.decodeSnapshot(text)
      assert.deepStrictEqual(snapshot.operations.map((operation) => operation.operationName), ["a", "b"])
      assert.strictEqual(dropped, 9)
      assert.include(firstProblem, "operations[1]")
    }))
})
