/**
 * What a workflow state change costs as the number of tracked workflows
 * grows: median ns/op of `WorkflowOrchestratorApm.setWorkflowState` (one
 * tracked workflow moved between `pending` and `paused`, the state gauge
 * published) with 100, 1,000 and 10,000 workflows tracked. The counts per
 * state are kept as workflows move, so the cost should not grow with the
 * number tracked; a recount of every tracked workflow on each change would.
 */
import { WorkflowOrchestratorApm } from "@mcp-apm/services"
import { Effect, Layer, Metric } from "effect"
import { coreLayer, measure } from "./trace-overhead.ts"

const trackedCounts = [100, 1_000, 10_000] as const

const stateChange = (tracked: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < tracked; i++) yield* WorkflowOrchestratorApm.setWorkflowState(`wf-${i}`, "pending")
    let next = 0
    // Each change moves a tracked workflow to the other waiting state, so the number tracked stays `tracked`.
    const change = Effect.suspend(() => {
      const i = next++
      const state = Math.floor(i / tracked) % 2 === 0 ? "paused" : "pending"
      return Effect.as(WorkflowOrchestratorApm.setWorkflowState(`wf-${i % tracked}`, state), 1)
    }).pipe(Effect.orDie)
    return yield* measure(change)
  }).pipe(
    Effect.provide(WorkflowOrchestratorApm.layer().pipe(Layer.provide(coreLayer()))),
    Effect.provideService(Metric.MetricRegistry, new Map())
  )

export const workflowStates = Effect.forEach(
  trackedCounts,
  (tracked) => Effect.map(stateChange(tracked), (nanos) => ({ tracked, nanos }))
)

export const printWorkflowStates = (r: Effect.Success<typeof workflowStates>) => {
  console.log("workflow-states (median ns/op of WorkflowOrchestratorApm.setWorkflowState, gauge published)")
  for (const { tracked, nanos } of r) console.log("  %s tracked  %s ns", String(tracked).padStart(6), nanos.toFixed(0))
}

if (import.meta.main) printWorkflowStates(await Effect.runPromise(workflowStates))
