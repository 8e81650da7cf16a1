import { assert, describe, it } from "@effect/vitest"

import { Deferred, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { WorkflowOrchestratorApm } from "../src/index.ts"
import { after } from "./support/clock.ts"

import {
  assertOutcomeUnchanged,
  capturingWarnings,
  hostileString,
  hostileValue,
  invalidCount,
  outcomes
} from "./support/observations.ts"
import { exposition, prometheusName } from "./support/prometheus.ts"
import { ApmRecorder, ApmTest, MetricSeries } from "@mcp-apm/core/testing"

const TestLayer = WorkflowOrchestratorApm.layer().pipe(Layer.provideMerge(ApmTest.layer()))
const StrictLayer = WorkflowOrchestratorApm.layer({ strict: true }).pipe(Layer.provideMerge(ApmTest.layer()))

const stateCounts = Effect.gen(function*() {
  const counts: Record<string, number | undefined> = {}
  for (const state of WorkflowOrchestratorApm.activeStates) {
    counts[state] = yield* MetricSeries.value("workflow_orchestrator_active_workflows", { state })
  }
  return counts
})

describe("WorkflowOrchestratorApm", () => {
  it.effect("each step is a child span of its workflow, with the step metrics", () =>
    Effect.gen(function*() {
      const result = yield* Effect.gen(function*() {
        const fetched = yield* after(100, Effect.succeed(2)).pipe(WorkflowOrchestratorApm.traceStep("fetch"))
        const built = yield* after(400, Effect.succeed(fetched * 2)).pipe(WorkflowOrchestratorApm.traceStep("build"))
        yield* after(250, Effect.void).pipe(
          WorkflowOrchestratorApm.traceAgentCoordination({ pattern: "parallel", agents: ["planner", "coder"] })
        )
        return built
      }).pipe(WorkflowOrchestratorApm.traceWorkflow({ workflowId: "wf-42", definition: "release" }))
      assert.strictEqual(result, 4)

      const spans = yield* ApmRecorder.spans
      const workflow = spans.find((s) => s.name === "workflow_orchestrator.workflow release")!
      assert.strictEqual(workflow.attributes["mcp.workflow_orchestrator.workflow.id"], "wf-42")
      assert.strictEqual(workflow.attributes["mcp.workflow_orchestrator.workflow.definition"], "release")
      assert.strictEqual(workflow.attributes["mcp.workflow_orchestrator.workflow.outcome"], "completed")
      assert.strictEqual(workflow.attributes["apm.operation.type"], "workflow_operation")
      const children = spans.filter((s) => s.parentSpanId === workflow.spanId)
      assert.deepStrictEqual(children.map((s) => s.name), [
        "workflow_orchestrator.step fetch",
        "workflow_orchestrator.step build",
        "workflow_orchestrator.coordinate_agents"
      ])
      assert.strictEqual(children[0]!.attributes["mcp.workflow_orchestrator.workflow.id"], "wf-42")
      assert.strictEqual(children[2]!.attributes["mcp.workflow_orchestrator.coordination.agents"], "planner,coder")
      assert.strictEqual(children[2]!.attributes["mcp.workflow_orchestrator.coordination.agent_count"], 2)

      assert.strictEqual(
        yield* MetricSeries.value("workflow_orchestrator_workflows_executed_total", {
          definition: "release",
          status: "ok"
        }),
        1
      )
      const build = yield* MetricSeries.state("workflow_orchestrator_step_duration_seconds", {
        definition: "release",
        step: "build",
        status: "ok"
      })
      assert.strictEqual(build!["sum"], 0.4)
      const coordination = yield* MetricSeries.state("workflow_orchestrator_agent_coordination_duration_seconds", {
        pattern: "parallel",
        status: "ok"
      })
      assert.strictEqual(coordination!["sum"], 0.25)
      assert.deepStrictEqual(yield* stateCounts, { pending: 0, running: 0, paused: 0 })
    }).pipe(Effect.provide(TestLayer)))

  it.effect("the state gauge counts workflows per active state while they run", () =>
    Effect.gen(function*() {
      yield* WorkflowOrchestratorApm.setWorkflowState("wf-1", "pending")
      yield* WorkflowOrchestratorApm.setWorkflowState("wf-2", "pending")
      yield* WorkflowOrchestratorApm.setWorkflowState("wf-3", "paused")
      assert.deepStrictEqual(yield* stateCounts, { pending: 2, running: 0, paused: 1 })

      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        Deferred.succeed(started, undefined).pipe(
          Effect.andThen(Deferred.await(gate)),
          WorkflowOrchestratorApm.traceWorkflow({ workflowId: "wf-1", definition: "deploy" })
        )
      )
      yield* Deferred.await(started)
      assert.deepStrictEqual(yield* stateCounts, { pending: 1, running: 1, paused: 1 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(yield* stateCounts, { pending: 1, running: 0, paused: 1 })

      yield* WorkflowOrchestratorApm.setWorkflowState("wf-3", "cancelled")
      assert.deepStrictEqual(yield* stateCounts, { pending: 1, running: 0, paused: 0 })
    }).pipe(Effect.provide(TestLayer)))

  it.effect("failed and interrupted workflows are recorded with their outcome", () =>
    Effect.gen(function*() {
      const failing = Effect.fail("step exploded").pipe(
        WorkflowOrchestratorApm.traceStep("deploy"),
        WorkflowOrchestratorApm.traceWorkflow({ workflowId: "wf-9", definition: "release" })
      )
      assert.strictEqual(yield* Effect.flip(failing), "step exploded")
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        Deferred.succeed(started, undefined).pipe(
          Effect.andThen(Effect.never),
          WorkflowOrchestratorApm.traceWorkflow({ workflowId: "wf-10", definition: "release" })
        )
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)

      const executed = (status: string) =>
        MetricSeries.value("workflow_orchestrator_workflows_executed_total", { definition: "release", status })
      assert.strictEqual(yield* executed("error"), 1)
      assert.strictEqual(yield* executed("interrupted"), 1)
      const step = yield* MetricSeries.state("workflow_orchestrator_step_duration_seconds", {
        step: "deploy",
        status: "error"
      })
      assert.strictEqual(step!["count"], 1)
      const outcomes = (yield* ApmRecorder.spans)
        .filter((s) => s.name.startsWith("workflow_orchestrator.workflow"))
        .map((s) => [s.attributes["mcp.workflow_orchestrator.workflow.outcome"], s.status])
      assert.deepStrictEqual(outcomes, [["failed", "error"], ["cancelled", "interrupted"]])
      assert.deepStrictEqual(yield* stateCounts, { pending: 0, running: 0, paused: 0 })
    }).pipe(Effect.provide(TestLayer)))

  it.effect("with strict: true, bad input fails with InvalidObservation and records nothing", () =>
    Effect.gen(function*() {
      const state = yield* Effect.flip(WorkflowOrchestratorApm.setWorkflowState("wf-1", "exploded" as never))
      assert.strictEqual(state._tag, "InvalidObservation")
      assert.strictEqual(state.field, "state")
      const pattern = yield* Effect.flip(
        Effect.void.pipe(WorkflowOrchestratorApm.traceAgentCoordination({ pattern: "chaos" as never, agents: ["a"] }))
      )
      assert.strictEqual(pattern.field, "pattern")
      const agents = yield* Effect.flip(
        Effect.void.pipe(WorkflowOrchestratorApm.traceAgentCoordination({ pattern: "handoff", agents: [] }))
      )
      assert.strictEqual(agents.field, "agents")
      const step = yield* Effect.flip(Effect.void.pipe(WorkflowOrchestratorApm.traceStep("step with spaces")))
      assert.strictEqual(step.field, "step")
      const definition = yield* Effect.flip(
        Effect.void.pipe(WorkflowOrchestratorApm.traceWorkflow({ workflowId: "wf-1", definition: "" }))
      )
      assert.strictEqual(definition.field, "definition")
      assert.deepStrictEqual(yield* ApmRecorder.operations, [])
      assert.isUndefined(yield* MetricSeries.value("workflow_orchestrator_active_workflows", { state: "running" }))
    }).pipe(Effect.provide(StrictLayer)))

  it.effect("bad input is folded or dropped and counted; the workflow still runs and is counted", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        Deferred.succeed(started, undefined).pipe(
          Effect.andThen(Deferred.await(gate)),
          Effect.as("shipped"),
          WorkflowOrchestratorApm.traceStep("step with spaces"),
          WorkflowOrchestratorApm.traceWorkflow({ workflowId: "id\nwith newline", definition: "" })
        )
      )
      yield* Deferred.await(started)
      // Its id is invalid, but the workflow is still one running workflow.
      assert.deepStrictEqual(yield* stateCounts, { pending: 0, running: 1, paused: 0 })
      // A state change of an invalid id, or to an unknown state, moves nothing.
      yield* WorkflowOrchestratorApm.setWorkflowState("id\nwith newline", "paused")
      yield* WorkflowOrchestratorApm.setWorkflowState("wf-2", "exploded" as never)
      assert.deepStrictEqual(yield* stateCounts, { pending: 0, running: 1, paused: 0 })
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(fiber), "shipped")
      assert.deepStrictEqual(yield* stateCounts, { pending: 0, running: 0, paused: 0 })

      assert.strictEqual(
        yield* MetricSeries.value("workflow_orchestrator_workflows_executed_total", {
          definition: "other",
          status: "ok"
        }),
        1
      )
      const step = yield* MetricSeries.state("workflow_orchestrator_step_duration_seconds", {
        definition: "other",
        step: "other"
      })
      assert.strictEqual(step!["count"], 1)
      const spans = yield* ApmRecorder.spans
      const workflow = spans.find((s) => s.name === "workflow_orchestrator.workflow other")!
      assert.notProperty(workflow.attributes, "mcp.workflow_orchestrator.workflow.id")
      assert.strictEqual(workflow.attributes["mcp.workflow_orchestrator.workflow.outcome"], "completed")

      const failed = yield* Effect.flip(
        Effect.fail("no agents left").pipe(
          WorkflowOrchestratorApm.traceAgentCoordination({ pattern: "chaos" as never, agents: [] })
        )
      )
      assert.strictEqual(failed, "no agents left")
      const coordination = yield* MetricSeries.state("workflow_orchestrator_agent_coordination_duration_seconds", {
        pattern: "other",
        status: "error"
      })
      assert.strictEqual(coordination!["count"], 1)

      assert.strictEqual(yield* invalidCount("workflow_orchestrator", "workflowId"), 2)
      for (const field of ["definition", "step", "state", "pattern", "agents"]) {
        assert.strictEqual(yield* invalidCount("workflow_orchestrator", field), 1, field)
      }
    }).pipe(capturingWarnings([]), Effect.provide(TestLayer)))

  it.effect("warns at most once a minute per field", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      yield* WorkflowOrchestratorApm.setWorkflowState("wf-1", "exploded" as never)
      yield* WorkflowOrchestratorApm.setWorkflowState("wf-1", "melted" as never)
      yield* Effect.void.pipe(WorkflowOrchestratorApm.traceStep("two words"))
      yield* TestClock.adjust("1 minute")
      yield* WorkflowOrchestratorApm.setWorkflowState("wf-1", "gone" as never)
      const states = "one of pending, running, paused, completed, failed, cancelled"
      assert.deepStrictEqual(lines, [
        `workflow_orchestrator: invalid state="exploded": expected ${states}`,
        "workflow_orchestrator: invalid step=\"two words\": expected a name of letters, digits and . _ : / @ + - (at most 128 characters)",
        `workflow_orchestrator: invalid state="gone": expected ${states} (1 more since the last warning)`
      ])
      assert.strictEqual(yield* invalidCount("workflow_orchestrator", "state"), 3)
    }).pipe(capturingWarnings(lines), Effect.provide(TestLayer))
  })

  it.effect("for any hostile input, the caller's effect ends exactly as without the APM", () => {
    const inputs = fc.record({
      outcome: outcomes,
      call: fc.constantFrom("workflow", "step", "coordination"),
      workflowId: hostileValue,
      definition: hostileValue,
      step: hostileValue,
      state: fc.oneof(fc.constantFrom(...WorkflowOrchestratorApm.states), hostileValue),
      pattern: fc.oneof(fc.constantFrom(...WorkflowOrchestratorApm.coordinationPatterns), hostileValue),
      agents: fc.oneof(fc.array(hostileString, { maxLength: 3 }), hostileValue)
    })
    type Input = typeof inputs extends fc.Arbitrary<infer I> ? I : never
    const trace = (self: Effect.Effect<any, any>, input: Input) => {
      const i = input as any
      switch (input.call) {
        case "workflow":
          return Effect.andThen(
            WorkflowOrchestratorApm.setWorkflowState(i.workflowId, i.state),
            WorkflowOrchestratorApm.traceWorkflow(self, { workflowId: i.workflowId, definition: i.definition })
          )
        case "step":
          return WorkflowOrchestratorApm.traceStep(self, i.step)
        case "coordination":
          return WorkflowOrchestratorApm.traceAgentCoordination(self, { pattern: i.pattern, agents: i.agents })
      }
    }
    return assertOutcomeUnchanged(inputs, (input) => ({ workflow: input.workflowId }), trace)
      .pipe(capturingWarnings([]), Effect.provide(TestLayer))
  })

  it.effect("for any starts, transitions, completions and evictions, the gauge equals a full recount", () => {
    const maxTrackedWorkflows = 4
    // More ids than can be tracked, so that starts evict; an invalid id gives each of its workflows a key of its own.
    const ids = ["wf-0", "wf-1", "wf-2", "wf-3", "wf-4", "wf-5", "id with spaces"]
    const command = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("start" as const), id: fc.constantFrom(...ids) }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("transition" as const),
          id: fc.constantFrom(...ids),
          state: fc.constantFrom(...WorkflowOrchestratorApm.states, "exploded")
        })
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant("complete" as const),
          which: fc.nat(),
          outcome: fc.constantFrom("ok" as const, "error" as const, "defect" as const, "interrupted" as const)
        })
      }
    )
    const finalState = { ok: "completed", error: "failed", defect: "failed", interrupted: "cancelled" } as const
    const isActive = (state: string) => (WorkflowOrchestratorApm.activeStates as ReadonlyArray<string>).includes(state)
    const isValidId = (id: string) => !id.includes(" ")

    // The reference: every tracked workflow in a map, counted anew after each change.
    const recount = () => {
      const tracked = new Map<string | symbol, string>()
      return {
        moveTo: (key: string | symbol, state: string) => {
          tracked.delete(key)
          if (!isActive(state)) return
          if (tracked.size >= maxTrackedWorkflows) tracked.delete(tracked.keys().next().value!)
          tracked.set(key, state)
        },
        counts: () => {
          const states = [...tracked.values()]
          return Object.fromEntries(
            WorkflowOrchestratorApm.activeStates.map((state) => [state, states.filter((s) => s === state).length])
          )
        }
      }
    }

    const run = (commands: ReadonlyArray<typeof command extends fc.Arbitrary<infer C> ? C : never>) =>
      Effect.gen(function*() {
        const reference = recount()
        const running: Array<{
          readonly key: string | symbol
          readonly gate: Deferred.Deferred<"ok" | "error" | "defect">
          readonly fiber: Fiber.Fiber<unknown, unknown>
        }> = []
        for (const c of commands) {
          if (c.kind === "start") {
            const started = yield* Deferred.make<void>()
            const gate = yield* Deferred.make<"ok" | "error" | "defect">()
            const body = Deferred.succeed(started, undefined).pipe(
              Effect.andThen(Deferred.await(gate)),
              Effect.flatMap((outcome) =>
                outcome === "ok" ? Effect.void : outcome === "error" ? Effect.fail("failed") : Effect.die("defect")
              )
            )
            const fiber = yield* Effect.forkChild(
              WorkflowOrchestratorApm.traceWorkflow(body, { workflowId: c.id, definition: "d" })
            )
            yield* Deferred.await(started)
            const key = isValidId(c.id) ? c.id : Symbol(c.id)
            reference.moveTo(key, "running")
            running.push({ key, gate, fiber })
          } else if (c.kind === "transition") {
            yield* WorkflowOrchestratorApm.setWorkflowState(c.id, c.state as WorkflowOrchestratorApm.State)
            if (isValidId(c.id) && c.state !== "exploded") reference.moveTo(c.id, c.state)
          } else if (running.length > 0) {
            const [workflow] = running.splice(c.which % running.length, 1)
            if (c.outcome === "interrupted") yield* Fiber.interrupt(workflow!.fiber)
            else yield* Deferred.succeed(workflow!.gate, c.outcome)
            yield* Fiber.await(workflow!.fiber)
            reference.moveTo(workflow!.key, finalState[c.outcome])
          }
          const counts = yield* stateCounts
          const gauge = Object.fromEntries(Object.entries(counts).map(([state, n]) => [state, n ?? 0]))
          assert.deepStrictEqual(gauge, reference.counts(), JSON.stringify(c))
        }
      }).pipe(
        Effect.provide(
          WorkflowOrchestratorApm.layer({ maxTrackedWorkflows }).pipe(Layer.provideMerge(ApmTest.layer()))
        ),
        capturingWarnings([])
      )

    const property = fc.asyncProperty(
      fc.array(command, { maxLength: 40 }),
      (commands) => Effect.runPromise(run(commands))
    )
    return Effect.promise(() => fc.assert(property, { seed: 20261202, numRuns: 200 }))
  })

  it.effect("definition and step labels are capped", () =>
    Effect.gen(function*() {
      for (const definition of ["a", "b", "c"]) {
        yield* Effect.void.pipe(WorkflowOrchestratorApm.traceWorkflow({ workflowId: `wf-${definition}`, definition }))
      }
      assert.strictEqual(
        yield* MetricSeries.value("workflow_orchestrator_workflows_executed_total", {
          definition: "other",
          status: "ok"
        }),
        1
      )
    }).pipe(
      Effect.provide(WorkflowOrchestratorApm.layer({ maxDefinitions: 2 }).pipe(Layer.provideMerge(ApmTest.layer())))
    ))

  it.effect("every metric has a HELP line in the Prometheus exposition", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(
        WorkflowOrchestratorApm.traceStep("s"),
        WorkflowOrchestratorApm.traceAgentCoordination({ pattern: "sequential", agents: ["a"] }),
        WorkflowOrchestratorApm.traceWorkflow({ workflowId: "wf", definition: "d" })
      )
      const { help } = yield* exposition
      for (const d of Object.values(WorkflowOrchestratorApm.definitions)) {
        assert.strictEqual(help.get(prometheusName(d.name)), d.description, d.name)
      }
    }).pipe(Effect.provide(TestLayer)))
})
