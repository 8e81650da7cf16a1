/**
 * The APM of plan management: task decomposition (and the tasks it
 * creates), consensus building, plan storage and plan generation.
 *
 * A plan id that is not a bounded name, or an unknown mechanism or storage
 * operation, folds into `other`; a participant count that is not a whole
 * number of at least 0 is left out. Each is counted in
 * `apm_invalid_observations_total` and warned about at most once a minute,
 * and the traced effect's outcome is left as it was;
 * `layer({ strict: true })` fails with `InvalidObservation` instead.
 *
 * @since 0.1.0
 */
import { Apm, PerformanceMetrics } from "@mcp-apm/core"
import { Context, Effect, Exit, Layer } from "effect"
import { dual } from "effect/Function"
import type { InvalidObservation } from "./InvalidObservation.ts"
import { counter, durationHistogram, update } from "./internal/metrics.ts"
import { traceOperation } from "./internal/operation.ts"
import * as Validator from "./internal/validate.ts"

const service = "plan_management"

const { statusOf } = PerformanceMetrics

/**
 * How participants reach consensus on a plan.
 *
 * @category models
 * @since 0.1.0
 */
export const consensusMechanisms = ["majority", "unanimous", "weighted", "quorum", "leader"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type ConsensusMechanism = typeof consensusMechanisms[number]

/**
 * The operations of the plan store.
 *
 * @category models
 * @since 0.1.0
 */
export const storageOperations = ["save", "load", "update", "delete", "list", "query"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type StorageOperation = typeof storageOperations[number]

/**
 * Name and description of each metric.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  tasksCreated: {
    name: "plan_management_tasks_created_total",
    description: "Tasks created by task decomposition"
  },
  decompositions: {
    name: "plan_management_decompositions_total",
    description: "Task decompositions finished, by status"
  },
  consensusDuration: {
    name: "plan_management_consensus_duration_seconds",
    description: "Duration of consensus building in seconds, by mechanism and status"
  },
  storageOperations: {
    name: "plan_management_storage_operations_total",
    description: "Plan storage operations finished, by operation and status"
  },
  storageDuration: {
    name: "plan_management_storage_duration_seconds",
    description: "Duration of plan storage operations in seconds, by operation"
  },
  planGenerationDuration: {
    name: "plan_management_plan_generation_duration_seconds",
    description: "Duration of plan generation in seconds, by status"
  }
} as const

const metrics = {
  tasksCreated: counter(definitions.tasksCreated),
  decompositions: counter(definitions.decompositions),
  consensusDuration: durationHistogram(definitions.consensusDuration),
  storageOperations: counter(definitions.storageOperations),
  storageDuration: durationHistogram(definitions.storageDuration),
  planGenerationDuration: durationHistogram(definitions.planGenerationDuration)
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Consensus {
  readonly mechanism: ConsensusMechanism
  readonly participants: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface PlanManagementApmService {
  /** Traces a decomposition and counts the tasks it returns. */
  readonly traceTaskDecomposition: <T, E, R>(
    self: Effect.Effect<ReadonlyArray<T>, E, R>,
    planId: string
  ) => Effect.Effect<ReadonlyArray<T>, E | InvalidObservation, R>
  readonly traceConsensus: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    consensus: Consensus
  ) => Effect.Effect<A, E | InvalidObservation, R>
  readonly traceStorage: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    operation: StorageOperation
  ) => Effect.Effect<A, E | InvalidObservation, R>
  readonly tracePlanGeneration: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    planId: string
  ) => Effect.Effect<A, E | InvalidObservation, R>
}

/**
 * @category services
 * @since 0.1.0
 */
export class PlanManagementApm extends Context.Service<PlanManagementApm, PlanManagementApmService>()(
  "@mcp-apm/services/PlanManagementApm"
) {}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Fail with `InvalidObservation` on a value that cannot be recorded, instead of folding or dropping it. For tests. */
  readonly strict?: boolean | undefined
}

const planIdKey = "mcp.plan_management.plan.id"

/**
 * What one service instance keeps: the `Apm` it records into and its
 * checks. Each method of the service is the function `<method>In` below,
 * over it.
 */
interface Planner {
  readonly apm: Apm.ApmService
  readonly validate: Validator.Validator
}

const traceTaskDecompositionIn = <T, E, R>(
  planner: Planner,
  self: Effect.Effect<ReadonlyArray<T>, E, R>,
  planId: string
) =>
  Effect.flatMap(planner.validate.token("planId", planId), (id) =>
    traceOperation(
      planner.apm,
      Effect.tap(self, (tasks) =>
        Effect.flatMap(
          planner.validate.list("tasks", tasks),
          (list) => Effect.annotateCurrentSpan("mcp.plan_management.tasks.count", list.length)
        )),
      "plan_management.decompose_tasks",
      "plan_operation",
      { [planIdKey]: id },
      (_, exit) =>
        Effect.all([
          update(metrics.decompositions, { status: statusOf(exit) }, 1),
          Exit.isSuccess(exit) && Array.isArray(exit.value)
            ? update(metrics.tasksCreated, {}, exit.value.length)
            : Effect.void
        ], { discard: true })
    ))

const traceConsensusIn = <A, E, R>(planner: Planner, self: Effect.Effect<A, E, R>, consensus: Consensus) =>
  Effect.gen(function*() {
    const mechanism = yield* planner.validate.oneOf("mechanism", consensus.mechanism, consensusMechanisms)
    const participants = yield* planner.validate.count("participants", consensus.participants)
    return yield* traceOperation(
      planner.apm,
      self,
      "plan_management.build_consensus",
      "plan_operation",
      {
        "mcp.plan_management.consensus.mechanism": mechanism,
        ...(participants === undefined ? {} : { "mcp.plan_management.consensus.participants": participants })
      },
      (seconds, exit) => update(metrics.consensusDuration, { mechanism, status: statusOf(exit) }, seconds)
    )
  })

const traceStorageIn = <A, E, R>(planner: Planner, self: Effect.Effect<A, E, R>, operation: StorageOperation) =>
  Effect.flatMap(planner.validate.oneOf("operation", operation, storageOperations), (op) =>
    traceOperation(
      planner.apm,
      self,
      `plan_management.storage.${op}`,
      "plan_operation",
      { "mcp.plan_management.storage.operation": op },
      (seconds, exit) =>
        Effect.all([
          update(metrics.storageOperations, { operation: op, status: statusOf(exit) }, 1),
          update(metrics.storageDuration, { operation: op }, seconds)
        ], { discard: true }),
      // the plan store is outside the process: a CLIENT span, as for a database call
      { kind: "client" }
    ))

const tracePlanGenerationIn = <A, E, R>(planner: Planner, self: Effect.Effect<A, E, R>, planId: string) =>
  Effect.flatMap(planner.validate.token("planId", planId), (id) =>
    traceOperation(
      planner.apm,
      self,
      "plan_management.generate_plan",
      "plan_operation",
      { [planIdKey]: id },
      (seconds, exit) => update(metrics.planGenerationDuration, { status: statusOf(exit) }, seconds)
    ))

/**
 * The service recording into `apm`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (apm: Apm.ApmService, options: Options = {}): PlanManagementApmService => {
  const planner: Planner = { apm, validate: Validator.make(service, options) }
  return PlanManagementApm.of({
    traceTaskDecomposition: (self, planId) => traceTaskDecompositionIn(planner, self, planId),
    traceConsensus: (self, consensus) => traceConsensusIn(planner, self, consensus),
    traceStorage: (self, operation) => traceStorageIn(planner, self, operation),
    tracePlanGeneration: (self, planId) => tracePlanGenerationIn(planner, self, planId)
  })
}

/**
 * The service over the `Apm` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<PlanManagementApm, never, Apm.Apm> =>
  Layer.effect(PlanManagementApm, Effect.map(Apm.Apm, (apm) => make(apm, options)))

/**
 * Traces a task decomposition of plan `planId`; the tasks it returns are counted as created.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceTaskDecomposition: {
  (planId: string): <T, E, R>(
    self: Effect.Effect<ReadonlyArray<T>, E, R>
  ) => Effect.Effect<ReadonlyArray<T>, E | InvalidObservation, R | PlanManagementApm>
  <T, E, R>(
    self: Effect.Effect<ReadonlyArray<T>, E, R>,
    planId: string
  ): Effect.Effect<ReadonlyArray<T>, E | InvalidObservation, R | PlanManagementApm>
} = dual(
  2,
  <T, E, R>(self: Effect.Effect<ReadonlyArray<T>, E, R>, planId: string) =>
    PlanManagementApm.use((apm) => apm.traceTaskDecomposition(self, planId))
)

/**
 * Traces consensus building among `participants` by `mechanism`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceConsensus: {
  (consensus: Consensus): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | PlanManagementApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    consensus: Consensus
  ): Effect.Effect<A, E | InvalidObservation, R | PlanManagementApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, consensus: Consensus) =>
    PlanManagementApm.use((apm) => apm.traceConsensus(self, consensus))
)

/**
 * Traces one operation of the plan store.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceStorage: {
  (operation: StorageOperation): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | PlanManagementApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    operation: StorageOperation
  ): Effect.Effect<A, E | InvalidObservation, R | PlanManagementApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, operation: StorageOperation) =>
    PlanManagementApm.use((apm) => apm.traceStorage(self, operation))
)

/**
 * Traces the generation of plan `planId`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const tracePlanGeneration: {
  (planId: string): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | PlanManagementApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    planId: string
  ): Effect.Effect<A, E | InvalidObservation, R | PlanManagementApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, planId: string) =>
    PlanManagementApm.use((apm) => apm.tracePlanGeneration(self, planId))
)
