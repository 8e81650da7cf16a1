import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { ApmRecorder, ApmTest, MetricSeries } from "@mcp-apm/core/testing"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { PlanManagementApm } from "../src/index.ts"
import { after } from "./support/clock.ts"

import {
  assertOutcomeUnchanged,
  capturingWarnings,
  hostileValue,
  invalidCount,
  outcomes
} from "./support/observations.ts"
import { exposition, prometheusName } from "./support/prometheus.ts"

const TestLayer = PlanManagementApm.layer().pipe(Layer.provideMerge(ApmTest.layer()))
const StrictLayer = PlanManagementApm.layer({ strict: true }).pipe(Layer.provideMerge(ApmTest.layer()))

describe("PlanManagementApm", () => {
  it.effect("a plan generation is the parent of its decomposition, consensus and storage", () =>
    Effect.gen(function*() {
      const decompose = after(200, Effect.succeed(["design", "build", "test"])).pipe(
        PlanManagementApm.traceTaskDecomposition("plan-7")
      )
      const agree = after(3000, Effect.succeed(true)).pipe(
        PlanManagementApm.traceConsensus({ mechanism: "majority", participants: 3 })
      )
      const save = after(50, Effect.void).pipe(PlanManagementApm.traceStorage("save"))
      const tasks = yield* Effect.gen(function*() {
        const tasks = yield* decompose
        yield* agree
        yield* save
        return tasks
      }).pipe(PlanManagementApm.tracePlanGeneration("plan-7"))
      assert.deepStrictEqual(tasks, ["design", "build", "test"])

      const spans = yield* ApmRecorder.spans
      const plan = spans.find((s) => s.name === "plan_management.generate_plan")!
      assert.strictEqual(plan.attributes["mcp.plan_management.plan.id"], "plan-7")
      assert.strictEqual(plan.attributes["apm.operation.type"], "plan_operation")
      const children = spans.filter((s) => s.parentSpanId === plan.spanId).map((s) => s.name)
      assert.deepStrictEqual(children, [
        "plan_management.decompose_tasks",
        "plan_management.build_consensus",
        "plan_management.storage.save"
      ])
      assert.deepStrictEqual(spans.map((s) => [s.name, s.kind]).sort(), [
        ["plan_management.build_consensus", "internal"],
        ["plan_management.decompose_tasks", "internal"],
        ["plan_management.generate_plan", "internal"],
        ["plan_management.storage.save", "client"]
      ])
      const decomposition = spans.find((s) => s.name === "plan_management.decompose_tasks")!
      assert.strictEqual(decomposition.attributes["mcp.plan_management.tasks.count"], 3)
      const consensus = spans.find((s) => s.name === "plan_management.build_consensus")!
      assert.strictEqual(consensus.attributes["mcp.plan_management.consensus.mechanism"], "majority")
      assert.strictEqual(consensus.attributes["mcp.plan_management.consensus.participants"], 3)

      assert.strictEqual(yield* MetricSeries.value("plan_management_tasks_created_total"), 3)
      assert.strictEqual(yield* MetricSeries.value("plan_management_decompositions_total", { status: "ok" }), 1)
      const consensusDuration = yield* MetricSeries.state("plan_management_consensus_duration_seconds", {
        mechanism: "majority",
        status: "ok"
      })
      assert.strictEqual(consensusDuration!["sum"], 3)
      const generation = yield* MetricSeries.state("plan_management_plan_generation_duration_seconds", { status: "ok" })
      assert.strictEqual(generation!["count"], 1)
      assert.closeTo(generation!["sum"] as number, 3.25, 1e-9)
      assert.strictEqual(
        yield* MetricSeries.value("plan_management_storage_operations_total", { operation: "save", status: "ok" }),
        1
      )
      assert.strictEqual(
        (yield* MetricSeries.state("plan_management_storage_duration_seconds", { operation: "save" }))!["sum"],
        0.05
      )

      // Each operation has a summary (and so a baseline) like any other.
      const summary = Option.getOrThrow(yield* Apm.summary("plan_management.build_consensus"))
      assert.strictEqual(summary.totalOperations, 1)
      assert.strictEqual(summary.meanDuration, 3)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("failures are recorded with their status and create no tasks", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.fail("model unavailable").pipe(PlanManagementApm.traceTaskDecomposition("plan-8"))
      )
      assert.strictEqual(error, "model unavailable")
      yield* Effect.exit(
        Effect.fail("no quorum").pipe(PlanManagementApm.traceConsensus({ mechanism: "quorum", participants: 5 }))
      )
      yield* Effect.exit(Effect.die("disk gone").pipe(PlanManagementApm.traceStorage("load")))
      yield* Effect.exit(Effect.fail("timeout").pipe(PlanManagementApm.tracePlanGeneration("plan-8")))
      assert.isUndefined(yield* MetricSeries.value("plan_management_tasks_created_total"))
      assert.strictEqual(yield* MetricSeries.value("plan_management_decompositions_total", { status: "error" }), 1)
      assert.strictEqual(
        (yield* MetricSeries.state("plan_management_consensus_duration_seconds", { status: "error" }))!["count"],
        1
      )
      assert.strictEqual(
        yield* MetricSeries.value("plan_management_storage_operations_total", { operation: "load", status: "defect" }),
        1
      )
      assert.strictEqual(
        (yield* MetricSeries.state("plan_management_plan_generation_duration_seconds", { status: "error" }))!["count"],
        1
      )
      const statuses = (yield* ApmRecorder.operations).map((r) => r.status)
      assert.deepStrictEqual(statuses, ["error", "error", "defect", "error"])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("with strict: true, bad input fails with InvalidObservation and records nothing", () =>
    Effect.gen(function*() {
      const mechanism = yield* Effect.flip(
        Effect.void.pipe(PlanManagementApm.traceConsensus({ mechanism: "coin_toss" as never, participants: 2 }))
      )
      assert.strictEqual(mechanism._tag, "InvalidObservation")
      assert.strictEqual(mechanism.field, "mechanism")
      const participants = yield* Effect.flip(
        Effect.void.pipe(PlanManagementApm.traceConsensus({ mechanism: "majority", participants: -1 }))
      )
      assert.strictEqual(participants.field, "participants")
      const storage = yield* Effect.flip(Effect.void.pipe(PlanManagementApm.traceStorage("truncate" as never)))
      assert.strictEqual(storage.field, "operation")
      const planId = yield* Effect.flip(Effect.void.pipe(PlanManagementApm.tracePlanGeneration("free text id\n")))
      assert.strictEqual(planId.field, "planId")
      assert.deepStrictEqual(yield* ApmRecorder.operations, [])
      assert.isUndefined(yield* MetricSeries.state("plan_management_consensus_duration_seconds"))
    }).pipe(Effect.provide(StrictLayer)))

  it.effect("bad input is folded or dropped and counted; the traced effects run and end as they would", () =>
    Effect.gen(function*() {
      const agreed = yield* Effect.succeed("agreed").pipe(
        PlanManagementApm.traceConsensus({ mechanism: "coin_toss" as never, participants: -1 })
      )
      assert.strictEqual(agreed, "agreed")
      const consensus = yield* MetricSeries.state("plan_management_consensus_duration_seconds", {
        mechanism: "other",
        status: "ok"
      })
      assert.strictEqual(consensus!["count"], 1)
      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.attributes["mcp.plan_management.consensus.mechanism"], "other")
      assert.notProperty(span!.attributes, "mcp.plan_management.consensus.participants")

      const error = yield* Effect.flip(
        Effect.fail("disk full").pipe(PlanManagementApm.traceStorage("truncate" as never))
      )
      assert.strictEqual(error, "disk full")
      assert.strictEqual(
        yield* MetricSeries.value("plan_management_storage_operations_total", { operation: "other", status: "error" }),
        1
      )

      const tasks = yield* Effect.succeed(["a", "b"]).pipe(PlanManagementApm.traceTaskDecomposition("free text id\n"))
      assert.deepStrictEqual(tasks, ["a", "b"])
      assert.strictEqual(yield* MetricSeries.value("plan_management_tasks_created_total"), 2)
      const decomposition = (yield* ApmRecorder.spans).find((s) => s.name === "plan_management.decompose_tasks")!
      assert.strictEqual(decomposition.attributes["mcp.plan_management.plan.id"], "other")

      for (const field of ["mechanism", "participants", "operation", "planId"]) {
        assert.strictEqual(yield* invalidCount("plan_management", field), 1, field)
      }
    }).pipe(Effect.provide(TestLayer)))

  it.effect("warns at most once a minute per field", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const consensus = (participants: number) =>
        Effect.void.pipe(PlanManagementApm.traceConsensus({ mechanism: "majority", participants }))
      yield* consensus(-1)
      yield* consensus(1.5)
      yield* Effect.void.pipe(PlanManagementApm.tracePlanGeneration("two words"))
      yield* TestClock.adjust("1 minute")
      yield* consensus(NaN)
      assert.deepStrictEqual(lines, [
        "plan_management: invalid participants=-1: expected a whole number of at least 0",
        "plan_management: invalid planId=\"two words\": expected a name of letters, digits and . _ : / @ + - (at most 128 characters)",
        "plan_management: invalid participants=NaN: expected a whole number of at least 0 (1 more since the last warning)"
      ])
      assert.strictEqual(yield* invalidCount("plan_management", "participants"), 3)
    }).pipe(capturingWarnings(lines), Effect.provide(TestLayer))
  })

  it.effect("for any hostile input, the caller's effect ends exactly as without the APM", () => {
    const inputs = fc.record({
      outcome: outcomes,
      call: fc.constantFrom("decomposition", "consensus", "storage", "generation"),
      planId: hostileValue,
      tasks: fc.oneof(fc.array(hostileValue, { maxLength: 3 }), hostileValue),
      mechanism: fc.oneof(fc.constantFrom(...PlanManagementApm.consensusMechanisms), hostileValue),
      participants: hostileValue,
      operation: fc.oneof(fc.constantFrom(...PlanManagementApm.storageOperations), hostileValue)
    })
    type Input = typeof inputs extends fc.Arbitrary<infer I> ? I : never
    const trace = (self: Effect.Effect<any, any>, input: Input) => {
      const i = input as any
      switch (input.call) {
        case "decomposition":
          return PlanManagementApm.traceTaskDecomposition(self, i.planId)
        case "consensus":
          return PlanManagementApm.traceConsensus(self, { mechanism: i.mechanism, participants: i.participants })
        case "storage":
          return PlanManagementApm.traceStorage(self, i.operation)
        case "generation":
          return PlanManagementApm.tracePlanGeneration(self, i.planId)
      }
    }
    return assertOutcomeUnchanged(
      inputs,
      (input) => input.call === "decomposition" ? input.tasks : { plan: input.planId },
      trace
    )
      .pipe(capturingWarnings([]), Effect.provide(TestLayer))
  })

  it.effect("every metric has a HELP line in the Prometheus exposition", () =>
    Effect.gen(function*() {
      yield* Effect.succeed([1]).pipe(PlanManagementApm.traceTaskDecomposition("p"))
      yield* Effect.void.pipe(PlanManagementApm.traceConsensus({ mechanism: "unanimous", participants: 2 }))
      yield* Effect.void.pipe(PlanManagementApm.traceStorage("list"))
      yield* Effect.void.pipe(PlanManagementApm.tracePlanGeneration("p"))
      const { help } = yield* exposition
      for (const d of Object.values(PlanManagementApm.definitions)) {
        assert.strictEqual(help.get(prometheusName(d.name)), d.description, d.name)
      }
    }).pipe(Effect.provide(TestLayer)))
})
