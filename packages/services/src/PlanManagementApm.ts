/**
 * The APM of plan management: task decomposition (and the tasks it
 * creates), consensus building, plan storage and plan generation.
 *
 * @since 0.1.0
 */
import { Apm } from "@mcp-apm/core"
import { Context, Effect, Exit, Layer } from "effect"
import { dual } from "effect/Function"
import type { InvalidObservation } from "./InvalidObservation.ts"
import { counter, histogram, secondsBuckets, update } from "./internal/metrics.ts"
import { statusOf, traceOperation } from "./internal/operation.ts"
import { count, oneOf, token } from "./internal/validate.ts"

const service = "plan_management"

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
  consensusDuration: histogram(definitions.consensusDuration, secondsBuckets),
  storageOperations: counter(definitions.storageOperations),
  storageDuration: histogram(definitions.storageDuration, secondsBuckets),
  planGenerationDuration: histogram(definitions.planGenerationDuration, secondsBuckets)
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

const planIdKey = "mcp.plan_management.plan.id"

/**
 * The service over the `Apm` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (): Layer.Layer<PlanManagementApm, never, Apm.Apm> =>
  Layer.effect(
    PlanManagementApm,
    Effect.map(Apm.Apm, (apm) =>
      PlanManagementApm.of({
        traceTaskDecomposition: (self, planId) =>
          Effect.flatMap(token(service, "planId", planId), () =>
            traceOperation(
              apm,
              Effect.tap(self, (tasks) => Effect.annotateCurrentSpan("mcp.plan_management.tasks.count", tasks.length)),
              "plan_management.decompose_tasks",
              "plan_operation",
              { [planIdKey]: planId },
              (_, exit) =>
                Effect.all([
                  update(metrics.decompositions, { status: statusOf(exit) }, 1),
                  Exit.isSuccess(exit) ? update(metrics.tasksCreated, {}, exit.value.length) : Effect.void
                ], { discard: true })
            )),
        traceConsensus: (self, consensus) =>
          Effect.gen(function*() {
            const mechanism = yield* oneOf(service, "mechanism", consensus.mechanism, consensusMechanisms)
            const participants = yield* count(service, "participants", consensus.participants)
            return yield* traceOperation(
              apm,
              self,
              "plan_management.build_consensus",
              "plan_operation",
              {
                "mcp.plan_management.consensus.mechanism": mechanism,
                "mcp.plan_management.consensus.participants": participants
              },
              (seconds, exit) => update(metrics.consensusDuration, { mechanism, status: statusOf(exit) }, seconds)
            )
          }),
        traceStorage: (self, operation) =>
          Effect.flatMap(oneOf(service, "operation", operation, storageOperations), (op) =>
            traceOperation(
              apm,
              self,
              `plan_management.storage.${op}`,
              "plan_operation",
              { "mcp.plan_management.storage.operation": op },
              (seconds, exit) =>
                Effect.all([
                  update(metrics.storageOperations, { operation: op, status: statusOf(exit) }, 1),
                  update(metrics.storageDuration, { operation: op }, seconds)
                ], { discard: true })
            )),
        tracePlanGeneration: (self, planId) =>
          Effect.flatMap(token(service, "planId", planId), () =>
            traceOperation(
              apm,
              self,
              "plan_management.generate_plan",
              "plan_operation",
              { [planIdKey]: planId },
              (seconds, exit) => update(metrics.planGenerationDuration, { status: statusOf(exit) }, seconds)
            ))
      }))
  )

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
