/**
 * The demo's workload under the TestClock, over `ApmTest`: `--seed` repeats a
 * run exactly, `--rate` sets how many operations start, and the fault makes
 * model requests slow and plan storage fail only inside its window.
 */
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { AnomalyDetector, Apm } from "@mcp-apm/core"
import { ApmRecorder, ApmTest } from "@mcp-apm/core/testing"
import {
  GitWorktreeApm,
  ModelRouterApm,
  PlanManagementApm,
  VerificationFeedbackApm,
  WorkflowOrchestratorApm
} from "@mcp-apm/services"
import { Duration, Effect, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import * as McpWorkload from "../src/demo/McpWorkload.ts"

const services = Layer.mergeAll(
  ModelRouterApm.layer(),
  PlanManagementApm.layer(),
  GitWorktreeApm.layer().pipe(Layer.provide(NodeServices.layer)),
  WorkflowOrchestratorApm.layer(),
  VerificationFeedbackApm.layer()
).pipe(Layer.provideMerge(ApmTest.layer()))

const fault = Option.some({ start: Duration.seconds(2), length: Duration.seconds(2) })

/** The operations of `seconds` of the workload, with times from the start of the run. */
const simulate = (options: McpWorkload.WorkloadOptions, seconds = 6) =>
  Effect.gen(function*() {
    const started = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const fiber = yield* Effect.forkChild(McpWorkload.run(options))
    yield* TestClock.adjust(Duration.seconds(seconds))
    yield* Fiber.interrupt(fiber)
    const operations = yield* ApmRecorder.operations
    return operations.map((o) => ({
      name: o.operationName,
      status: o.status,
      start: o.startTime - started,
      duration: o.duration
    }))
  }).pipe(Effect.provide(services))

describe("McpWorkload", () => {
  it.effect("the same seed repeats a run exactly; another seed does not", () =>
    Effect.gen(function*() {
      const first = yield* simulate({ rate: 40, fault, seed: 7 })
      const again = yield* simulate({ rate: 40, fault, seed: 7 })
      const other = yield* simulate({ rate: 40, fault, seed: 8 })
      assert.isAbove(first.length, 500)
      assert.deepStrictEqual(again, first)
      assert.notDeepEqual(other, first)
    }))

  it.effect("--rate operations start every second, one request to one of the five services each", () =>
    Effect.gen(function*() {
      const roots = [
        "model_router.route",
        "plan_management.generate_plan",
        "git status",
        "workflow_orchestrator.workflow content_pipeline",
        "verification_feedback.pipeline pre_merge"
      ]
      const count = (operations: ReadonlyArray<{ readonly name: string }>) =>
        operations.filter((o) => roots.includes(o.name)).length
      // 6 s of arrivals; the last ones may still be running when the run stops
      const slow = count(yield* simulate({ rate: 10, fault: Option.none(), seed: 1 }))
      const fast = count(yield* simulate({ rate: 40, fault: Option.none(), seed: 1 }))
      assert.isAtLeast(slow, 55)
      assert.isAtMost(slow, 61)
      assert.isAtLeast(fast, 235)
      assert.isAtMost(fast, 241)
    }))

  it.effect("the fault slows model requests and fails plan storage inside its window only", () =>
    Effect.gen(function*() {
      const operations = yield* simulate({ rate: 40, fault, seed: 3 })
      const inWindow = (o: { readonly start: number }) => o.start >= 2000 && o.start < 4000
      const generate = operations.filter((o) => o.name.startsWith("text_completion "))
      const mean = (xs: ReadonlyArray<{ readonly duration: number }>) =>
        xs.reduce((sum, x) => sum + x.duration, 0) / xs.length
      assert.isAbove(mean(generate.filter(inWindow)), 3 * mean(generate.filter((o) => !inWindow(o))))
      const storageErrors = operations.filter((o) => o.name === "plan_management.storage.save" && o.status !== "ok")
      assert.isAbove(storageErrors.length, 0)
      assert.isTrue(storageErrors.every(inWindow))
      const clean = yield* simulate({ rate: 40, fault: Option.none(), seed: 3 })
      assert.isTrue(clean.every((o) => o.status === "ok" || o.name !== "plan_management.storage.save"))
    }))
})

describe("McpWorkload end to end", () => {
  it.effect("under the TestClock, the fault's anomaly is found and the healthy operations raise none above INFO", () =>
    Effect.gen(function*() {
      // 40 s healthy for the baselines, then 15 s of slow model requests and failing plan storage
      const fiber = yield* Effect.forkChild(McpWorkload.run({
        rate: 40,
        fault: Option.some({ start: Duration.seconds(40), length: Duration.seconds(15) }),
        seed: 5
      }))
      for (let s = 0; s < 55; s++) yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const anomalies = yield* Apm.recentAnomalies(AnomalyDetector.historySize)
      const faulty = (name: string) => name.startsWith("text_completion ") || name === "plan_management.storage.save"
      assert.isTrue(
        anomalies.some((a) => a.operationName.startsWith("text_completion ") && a.severity !== "INFO"),
        "an anomaly of the slowed model requests above INFO"
      )
      assert.deepStrictEqual(
        anomalies.filter((a) => !faulty(a.operationName) && a.severity !== "INFO").map((a) => a.operationName),
        []
      )
      const insights = yield* Apm.insights
      assert.isTrue(insights.some((i) => i.operationName === "plan_management.storage.save"))
    }).pipe(Effect.provide(services)))
})
