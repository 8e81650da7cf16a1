import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { AnomalyDetector, BaselineStore } from "../src/index.ts"
import { Apm, ApmConfig, Insights } from "../src/index.ts"
import { ApmTest } from "../src/testing/index.ts"
import { summary } from "./support/records.ts"

const options = Effect.runSync(ApmConfig.make())

const baseline = (p95: number): BaselineStore.PerformanceBaseline => ({
  operationName: "op",
  operationType: "http_request",
  mean: p95 / 2,
  median: p95 / 2,
  p95,
  p99: p95,
  stddev: p95 / 4,
  sampleCount: 100,
  updatedAt: 0
})

const anomaly: AnomalyDetector.Anomaly = {
  operationName: "op",
  operationType: "database_query",
  duration: 2,
  baselineMean: 0.1,
  baselineStddev: 0.01,
  zScore: 190,
  score: 0.9,
  severity: "CRITICAL",
  kind: "spike",
  firstSeen: 1,
  lastSeen: 1,
  count: 1
}

const compute = (input: Partial<Insights.InsightInput>) =>
  Insights.compute({
    options,
    summaries: [],
    baselines: [],
    recentDurations: () => [],
    anomalies: [],
    cpuFraction: undefined,
    memoryFraction: undefined,
    ...input
  })

describe("Insights", () => {
  it("nothing to say about a healthy service", () => {
    assert.deepStrictEqual(
      compute({ summaries: [summary({})], cpuFraction: 0.2, memoryFraction: 0.3, baselines: [baseline(0.15)] }),
      []
    )
  })

  it("slow operations, against the threshold of their type", () => {
    const [insight, ...rest] = compute({
      summaries: [
        summary({ operationName: "query", operationType: "database_query", p95Duration: 0.6 }),
        summary({ operationName: "api", operationType: "external_api", p95Duration: 1.5 })
      ]
    })
    assert.strictEqual(rest.length, 0)
    assert.strictEqual(insight!.type, "slow_operation")
    assert.strictEqual(insight!.operationName, "query")
    assert.strictEqual(insight!.severity, "WARNING")
    assert.deepStrictEqual(insight!.values, { p95Duration: 0.6, threshold: 0.5, slowCount: 0, totalOperations: 100 })
    assert.include(insight!.message, "600.0 ms")
    assert.isAbove(insight!.recommendation.length, 20)
  })

  it("high error rate, with a minimum count", () => {
    const failing = summary({ errorCount: 30, successCount: 70, successRate: 0.7 })
    const [insight] = compute({ summaries: [failing] })
    assert.strictEqual(insight!.type, "high_error_rate")
    assert.strictEqual(insight!.severity, "ERROR")
    assert.strictEqual(insight!.values["errorRate"], 0.3)
    const few = summary({ totalOperations: 10, errorCount: 9, successCount: 1, successRate: 0.1 })
    assert.deepStrictEqual(compute({ summaries: [few] }), [])
  })

  it("CPU and memory over their thresholds", () => {
    const insights = compute({ cpuFraction: 0.9, memoryFraction: 0.97 })
    assert.deepStrictEqual(insights.map((i) => [i.type, i.severity]), [
      ["high_memory_usage", "CRITICAL"],
      ["high_cpu_usage", "WARNING"]
    ])
    assert.deepStrictEqual(insights[1]!.values, { cpuFraction: 0.9, threshold: 0.8 })
  })

  it("anomalies", () => {
    const [insight] = compute({ anomalies: [anomaly] })
    assert.strictEqual(insight!.type, "anomaly")
    assert.strictEqual(insight!.severity, "CRITICAL")
    assert.strictEqual(insight!.values["zScore"], 190)
    assert.include(insight!.message, "2.00 s")
  })

  it("baseline deviation: recent p95 well above the baseline p95", () => {
    const recent = Array.from({ length: 20 }, () => 0.4)
    const [insight] = compute({ baselines: [baseline(0.2)], recentDurations: () => recent })
    assert.strictEqual(insight!.type, "baseline_deviation")
    assert.strictEqual(insight!.values["ratio"], 2)
    const close = Array.from({ length: 20 }, () => 0.35)
    assert.deepStrictEqual(compute({ baselines: [baseline(0.2)], recentDurations: () => close }), [])
  })

  it.effect("Apm.insights sees what Apm.trace recorded", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 20; i++) {
        const fiber = yield* Effect.forkChild(
          Effect.sleep(1500).pipe(Effect.andThen(Effect.fail("timeout")), Apm.trace("slow_fail", "http_request"))
        )
        yield* TestClock.adjust(1500)
        yield* Fiber.await(fiber)
      }
      const types = (yield* Apm.insights).map((i) => i.type).sort()
      assert.deepStrictEqual(types, ["high_error_rate", "slow_operation"])
    }).pipe(Effect.provide(ApmTest.layer())))
})
