/**
 * The APM of the workflow orchestrator: workflow executions (id, definition,
 * outcome), their steps as child spans, agent coordination, and a gauge of
 * the workflows in each active state.
 *
 * A definition, step or agent that is not a bounded name, or an unknown
 * pattern, folds into `other`; an invalid workflow id is left out (the
 * workflow still runs and is counted), and a state change of an invalid id
 * or to an unknown state moves nothing. Each is counted in
 * `apm_invalid_observations_total` and warned about at most once a minute,
 * and the traced effect's outcome is left as it was;
 * `layer({ strict: true })` fails with `InvalidObservation` instead.
 *
 * @since 0.1.0
 */
import { Apm, PerformanceMetrics } from "@mcp-apm/core"
import type { CappedLabel } from "@mcp-apm/core"
import { Context, Effect, Layer } from "effect"
import { dual } from "effect/Function"
import type { InvalidObservation } from "./InvalidObservation.ts"
import { cappedLabel, overflowLabel } from "./internal/labels.ts"
import { counter, durationHistogram, gauge, update } from "./internal/metrics.ts"
import { traceOperation } from "./internal/operation.ts"
import { TrackedStates } from "./internal/trackedStates.ts"
import * as Validator from "./internal/validate.ts"

const service = "workflow_orchestrator"

const { statusOf } = PerformanceMetrics

/**
 * The states of a workflow. `pending`, `running` and `paused` are active and
 * counted by the state gauge; the others end the workflow.
 *
 * @category models
 * @since 0.1.0
 */
export const states = ["pending", "running", "paused", "completed", "failed", "cancelled"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type State = typeof states[number]

/**
 * @category models
 * @since 0.1.0
 */
export const activeStates = ["pending", "running", "paused"] as const

/**
 * How agents are coordinated.
 *
 * @category models
 * @since 0.1.0
 */
export const coordinationPatterns = [
  "sequential",
  "parallel",
  "hierarchical",
  "consensus",
  "handoff",
  "broadcast"
] as const

/**
 * @category models
 * @since 0.1.0
 */
export type CoordinationPattern = typeof coordinationPatterns[number]

const defaultMaxTrackedWorkflows = 10_000

/**
 * Name and description of each metric.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  workflowsExecuted: {
    name: "workflow_orchestrator_workflows_executed_total",
    description: "Workflow executions finished, by definition and status"
  },
  stepDuration: {
    name: "workflow_orchestrator_step_duration_seconds",
    description: "Duration of workflow steps in seconds, by definition, step and status"
  },
  agentCoordinationDuration: {
    name: "workflow_orchestrator_agent_coordination_duration_seconds",
    description: "Duration of agent coordination in seconds, by pattern and status"
  },
  activeWorkflows: {
    name: "workflow_orchestrator_active_workflows",
    description: "Workflows currently in each active state (pending, running, paused)"
  }
} as const

const metrics = {
  workflowsExecuted: counter(definitions.workflowsExecuted),
  stepDuration: durationHistogram(definitions.stepDuration),
  agentCoordinationDuration: durationHistogram(definitions.agentCoordinationDuration),
  activeWorkflows: gauge(definitions.activeWorkflows)
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Distinct workflow definitions, and step names, kept as label values; later ones fold into `other`. */
  readonly maxDefinitions?: number | undefined
  readonly maxSteps?: number | undefined
  /** Active workflows tracked for the state gauge (default 10,000); past it the one tracked longest is forgotten. */
  readonly maxTrackedWorkflows?: number | undefined
  /** Fail with `InvalidObservation` on a value that cannot be recorded, instead of folding or dropping it. For tests. */
  readonly strict?: boolean | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Workflow {
  readonly workflowId: string
  readonly definition: string
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Coordination {
  readonly pattern: CoordinationPattern
  readonly agents: ReadonlyArray<string>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface WorkflowOrchestratorApmService {
  /** Traces a workflow execution; it is `running` while it runs and ends `completed`, `failed` or `cancelled`. */
  readonly traceWorkflow: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    workflow: Workflow
  ) => Effect.Effect<A, E | InvalidObservation, R>
  /** Traces one step; inside `traceWorkflow` it is a child span of the workflow. */
  readonly traceStep: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    step: string
  ) => Effect.Effect<A, E | InvalidObservation, R>
  readonly traceAgentCoordination: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    coordination: Coordination
  ) => Effect.Effect<A, E | InvalidObservation, R>
  /** Moves a workflow to `state` (e.g. `pending` before it is scheduled, `paused` while it waits). */
  readonly setWorkflowState: (workflowId: string, state: State) => Effect.Effect<void, InvalidObservation>
}

/**
 * @category services
 * @since 0.1.0
 */
export class WorkflowOrchestratorApm extends Context.Service<WorkflowOrchestratorApm, WorkflowOrchestratorApmService>()(
  "@mcp-apm/services/WorkflowOrchestratorApm"
) {}

interface CurrentWorkflow {
  readonly workflowId: string | undefined
  readonly definition: string
}

/** The workflow a fiber runs in, so that its steps carry the workflow's id and definition. */
const CurrentWorkflow = Context.Reference<CurrentWorkflow | undefined>(
  "@mcp-apm/services/WorkflowOrchestratorApm/CurrentWorkflow",
  { defaultValue: () => undefined }
)

const noWorkflow = "none"

const finalState: Record<PerformanceMetrics.OperationStatus, State> = {
  ok: "completed",
  error: "failed",
  defect: "failed",
  interrupted: "cancelled"
}

/**
 * What one service instance keeps: the `Apm` it records into, its checks,
 * label caps and tracked workflows. Each method of the service is the
 * function `<method>In` below, over it.
 */
interface Orchestrator {
  readonly apm: Apm.ApmService
  readonly validate: Validator.Validator
  readonly definitionLabels: CappedLabel.CappedLabel
  readonly stepLabels: CappedLabel.CappedLabel
  // Keyed by workflow id; a workflow whose id is invalid gets a key of its own, so the gauge still counts it.
  readonly tracked: TrackedStates<typeof activeStates[number]>
}

const moveTo = (orchestrator: Orchestrator, key: string | symbol, state: State): Effect.Effect<void> =>
  Effect.suspend(() => {
    orchestrator.tracked.moveTo(key, state)
    return Effect.forEach(
      activeStates,
      (active) => update(metrics.activeWorkflows, { state: active }, orchestrator.tracked.count(active)),
      { discard: true }
    )
  })

const setWorkflowStateIn = Effect.fnUntraced(function*(orchestrator: Orchestrator, workflowId: string, state: State) {
  const id = yield* orchestrator.validate.id("workflowId", workflowId)
  const to = yield* orchestrator.validate.oneOf("state", state, states)
  // A transition of an unknown workflow, or to an unknown state, moves nothing.
  if (id === undefined || to === overflowLabel) return
  yield* moveTo(orchestrator, id, to)
})

const traceWorkflowIn = <A, E, R>(orchestrator: Orchestrator, self: Effect.Effect<A, E, R>, workflow: Workflow) =>
  Effect.gen(function*() {
    const workflowId = yield* orchestrator.validate.id("workflowId", workflow.workflowId)
    const definitionName = yield* orchestrator.validate.token("definition", workflow.definition)
    const definition = orchestrator.definitionLabels.bound(definitionName)
    const key = workflowId ?? Symbol("workflow")
    yield* moveTo(orchestrator, key, "running")
    const inner = self.pipe(
      Effect.provideService(CurrentWorkflow, { workflowId, definition }),
      Effect.onExit((exit) =>
        Effect.annotateCurrentSpan("mcp.workflow_orchestrator.workflow.outcome", finalState[statusOf(exit)])
      )
    )
    return yield* traceOperation(
      orchestrator.apm,
      inner,
      `workflow_orchestrator.workflow ${definition}`,
      "workflow_operation",
      {
        ...(workflowId === undefined ? {} : { "mcp.workflow_orchestrator.workflow.id": workflowId }),
        "mcp.workflow_orchestrator.workflow.definition": definitionName
      },
      (_, exit) =>
        Effect.andThen(
          update(metrics.workflowsExecuted, { definition, status: statusOf(exit) }, 1),
          moveTo(orchestrator, key, finalState[statusOf(exit)])
        )
    )
  })

const traceStepIn = <A, E, R>(orchestrator: Orchestrator, self: Effect.Effect<A, E, R>, step: string) =>
  Effect.gen(function*() {
    const name = yield* orchestrator.validate.token("step", step)
    const label = orchestrator.stepLabels.bound(name)
    const workflow = yield* CurrentWorkflow
    const definition = workflow?.definition ?? noWorkflow
    return yield* traceOperation(
      orchestrator.apm,
      self,
      `workflow_orchestrator.step ${label}`,
      "workflow_operation",
      {
        "mcp.workflow_orchestrator.step.name": name,
        ...(workflow?.workflowId === undefined ? {} : { "mcp.workflow_orchestrator.workflow.id": workflow.workflowId })
      },
      (seconds, exit) => update(metrics.stepDuration, { definition, step: label, status: statusOf(exit) }, seconds)
    )
  })

const traceAgentCoordinationIn = <A, E, R>(
  orchestrator: Orchestrator,
  self: Effect.Effect<A, E, R>,
  coordination: Coordination
) =>
  Effect.gen(function*() {
    const { validate } = orchestrator
    const pattern = yield* validate.oneOf("pattern", coordination.pattern, coordinationPatterns)
    const agents = yield* Effect.forEach(
      yield* validate.list("agents", coordination.agents, 1),
      (agent) => validate.token("agents", agent)
    )
    return yield* traceOperation(
      orchestrator.apm,
      self,
      "workflow_orchestrator.coordinate_agents",
      "workflow_operation",
      {
        "mcp.workflow_orchestrator.coordination.pattern": pattern,
        "mcp.workflow_orchestrator.coordination.agents": agents.join(","),
        "mcp.workflow_orchestrator.coordination.agent_count": agents.length
      },
      (seconds, exit) => update(metrics.agentCoordinationDuration, { pattern, status: statusOf(exit) }, seconds)
    )
  })

/**
 * The service recording into `apm`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (apm: Apm.ApmService, options: Options = {}): WorkflowOrchestratorApmService => {
  const orchestrator: Orchestrator = {
    apm,
    validate: Validator.make(service, options),
    definitionLabels: cappedLabel(options.maxDefinitions),
    stepLabels: cappedLabel(options.maxSteps),
    tracked: new TrackedStates(activeStates, options.maxTrackedWorkflows ?? defaultMaxTrackedWorkflows)
  }
  return WorkflowOrchestratorApm.of({
    traceWorkflow: (self, workflow) => traceWorkflowIn(orchestrator, self, workflow),
    traceStep: (self, step) => traceStepIn(orchestrator, self, step),
    traceAgentCoordination: (self, coordination) => traceAgentCoordinationIn(orchestrator, self, coordination),
    setWorkflowState: (workflowId, state) => setWorkflowStateIn(orchestrator, workflowId, state)
  })
}

/**
 * The service over the `Apm` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<WorkflowOrchestratorApm, never, Apm.Apm> =>
  Layer.effect(WorkflowOrchestratorApm, Effect.map(Apm.Apm, (apm) => make(apm, options)))

/**
 * Traces a workflow execution.
 *
 * @example
 * ```ts
 * const run = Effect.all([fetch.pipe(WorkflowOrchestratorApm.traceStep("fetch")), build]).pipe(
 *   WorkflowOrchestratorApm.traceWorkflow({ workflowId: "wf-42", definition: "release" })
 * )
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceWorkflow: {
  (workflow: Workflow): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | WorkflowOrchestratorApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    workflow: Workflow
  ): Effect.Effect<A, E | InvalidObservation, R | WorkflowOrchestratorApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, workflow: Workflow) =>
    WorkflowOrchestratorApm.use((apm) => apm.traceWorkflow(self, workflow))
)

/**
 * Traces one step of the current workflow.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceStep: {
  (step: string): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | WorkflowOrchestratorApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    step: string
  ): Effect.Effect<A, E | InvalidObservation, R | WorkflowOrchestratorApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, step: string) =>
    WorkflowOrchestratorApm.use((apm) => apm.traceStep(self, step))
)

/**
 * Traces the coordination of agents.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceAgentCoordination: {
  (coordination: Coordination): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | WorkflowOrchestratorApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    coordination: Coordination
  ): Effect.Effect<A, E | InvalidObservation, R | WorkflowOrchestratorApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, coordination: Coordination) =>
    WorkflowOrchestratorApm.use((apm) => apm.traceAgentCoordination(self, coordination))
)

/**
 * Moves a workflow to `state`.
 *
 * @category recording
 * @since 0.1.0
 */
export const setWorkflowState = (
  workflowId: string,
  state: State
): Effect.Effect<void, InvalidObservation, WorkflowOrchestratorApm> =>
  WorkflowOrchestratorApm.use((apm) => apm.setWorkflowState(workflowId, state))
