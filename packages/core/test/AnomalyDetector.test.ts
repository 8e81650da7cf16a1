import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Metric } from "effect"
import { TestClock } from "effect/testing"
import { AnomalyDetector, Apm, ApmConfig, BaselineStore } from "../src/index.ts"
import { ApmTest } from "../src/testing/index.ts"
import { record } from "./support/records.ts"

const setup = (overrides: Partial<ApmConfig.ApmOptions> = {}) => {
  const options = Effect.runSync(ApmConfig.make(overrides))
  const baselines = BaselineStore.make(options)
  const detector = AnomalyDetector.make(options, baselines)
  const context = Context.make(Metric.MetricRegistry, new Map())
  const observe = (name: string, duration: number, endTime: number) => {
    const r = record(name, duration, endTime)
    baselines.observe(r)
    detector.observe(r, context, undefined)
  }
  return { detector, observe, context }
}

/** A steady 100 ms operation with a little deterministic jitter. */
const steady = (i: number) => 0.1 * (1 + 0.05 * Math.sin(i * 1.7))

describe("AnomalyDetector", () => {
  it.effect("a spike becomes one record with the baseline it was judged against", () =>
    Effect.gen(function*() {
      const { detector, observe, context } = setup()
      for (let i = 0; i < 300; i++) observe("q", steady(i), i)
      assert.deepStrictEqual(yield* detector.recentAnomalies(10), [])
      observe("q", 2.0, 300)
      const [anomaly] = yield* detector.recentAnomalies(10)
      assert.strictEqual(anomaly!.operationName, "q")
      assert.strictEqual(anomaly!.operationType, "http_request")
      assert.strictEqual(anomaly!.duration, 2.0)
      assert.closeTo(anomaly!.baselineMean, 0.1, 0.01)
      assert.isAbove(anomaly!.baselineStddev, 0)
      assert.isAbove(anomaly!.zScore, 10)
      assert.isAtLeast(anomaly!.score, 0)
      assert.isAtMost(anomaly!.score, 1)
      assert.include(["INFO", "WARNING", "ERROR", "CRITICAL"], anomaly!.severity)
      assert.strictEqual(anomaly!.firstSeen, 300)
      const series = Metric.snapshotUnsafe(context).filter((s) => s.id === "apm_anomalies_total")
      assert.strictEqual(series.length, 1)
      assert.strictEqual((series[0]!.state as { count: number }).count, 1)
    }))

  it.effect("a sustained slowdown is one record with a count, not one per sample", () =>
    Effect.gen(function*() {
      const { detector, observe } = setup()
      for (let i = 0; i < 300; i++) observe("q", steady(i), i)
      for (let i = 300; i < 400; i++) observe("q", 3 * steady(i), i)
      const anomalies = yield* detector.recentAnomalies(100)
      assert.strictEqual(anomalies.length, 1)
      assert.isAtLeast(anomalies[0]!.count, 1)
      assert.isAtLeast(anomalies[0]!.lastSeen, anomalies[0]!.firstSeen)
    }))

  it.effect("an incident that escalates is raised again at each severity it reaches, still one record", () =>
    Effect.gen(function*() {
      const { detector, observe, context } = setup()
      for (let i = 0; i < 1500; i++) observe("q", steady(i), i)
      for (let i = 1500; i < 1560; i++) observe("q", 4 * steady(i), i)
      const anomalies = yield* detector.recentAnomalies(100)
      assert.strictEqual(anomalies.length, 1)
      assert.strictEqual(anomalies[0]!.severity, "CRITICAL")
      const raised = Metric.snapshotUnsafe(context)
        .filter((s) => s.id === "apm_anomalies_total")
        .map((s) => [s.attributes?.["severity"], (s.state as { count: number }).count])
      assert.deepInclude(raised, ["WARNING", 1])
      assert.deepInclude(raised, ["CRITICAL", 1])
    }))

  it.effect("recentAnomalies is newest first and bounded", () =>
    Effect.gen(function*() {
      const { detector, observe } = setup({ anomalyWindowSize: 5 })
      let t = 0
      for (let i = 0; i < 300; i++) observe("a", steady(i), t++)
      for (let i = 0; i < 300; i++) observe("b", steady(i), t++)
      observe("a", 5, t++)
      for (let i = 0; i < 10; i++) observe("a", steady(i), t++)
      observe("b", 5, t++)
      const [newest, older] = yield* detector.recentAnomalies(2)
      assert.strictEqual(newest!.operationName, "b")
      assert.strictEqual(older!.operationName, "a")
      assert.strictEqual((yield* detector.recentAnomalies(1)).length, 1)
      assert.strictEqual(AnomalyDetector.historySize, 1000)
    }))

  it.effect("sub-millisecond jumps of a microsecond operation are noise, not anomalies", () =>
    Effect.gen(function*() {
      const { detector, observe } = setup()
      for (let i = 0; i < 300; i++) observe("cache", 0.00001 * (1 + 0.05 * Math.sin(i)), i)
      observe("cache", 0.0009, 300)
      assert.deepStrictEqual(yield* detector.recentAnomalies(10), [])
      observe("cache", 0.05, 301)
      assert.strictEqual((yield* detector.recentAnomalies(10)).length, 1)
    }))

  it.effect("anomalyDetectionEnabled: false records nothing", () =>
    Effect.gen(function*() {
      const { detector, observe } = setup({ anomalyDetectionEnabled: false })
      for (let i = 0; i < 300; i++) observe("q", steady(i), i)
      observe("q", 100, 300)
      assert.deepStrictEqual(yield* detector.recentAnomalies(10), [])
    }))

  it.effect("Apm.trace feeds the detector: a slowdown shows in recentAnomalies and insights", () =>
    Effect.gen(function*() {
      const run = (millis: number) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(Effect.sleep(millis).pipe(Apm.trace("render", "custom_operation")))
          yield* TestClock.adjust(millis)
          yield* Fiber.join(fiber)
        })
      for (let i = 0; i < 300; i++) yield* run(Math.round(1000 * steady(i)))
      assert.deepStrictEqual(yield* Apm.recentAnomalies(10), [])
      for (let i = 0; i < 40; i++) yield* run(Math.round(4000 * steady(i)))
      const anomalies = yield* Apm.recentAnomalies(10)
      assert.strictEqual(anomalies.length, 1)
      assert.strictEqual(anomalies[0]!.operationName, "render")
      assert.closeTo(anomalies[0]!.baselineMean, 0.1, 0.01)
      const types = (yield* Apm.insights).map((i) => i.type)
      assert.include(types, "anomaly")
      assert.include(types, "baseline_deviation")
    }).pipe(Effect.provide(ApmTest.layer())))
})
