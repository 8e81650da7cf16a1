/**
 * `Apm.trace` for code not yet on Effect: async functions and plain
 * synchronous functions are traced through a runtime built once from a layer
 * (`ApmLive` in production). A traced function returns, throws or rejects
 * with exactly what it would untraced: the same value, the same error object.
 *
 * @since 0.1.0
 */
import type { OperationType, PerformanceMetrics } from "@mcp-apm/core"
import { Apm } from "@mcp-apm/core"
import { Cause, Effect, Exit, ManagedRuntime } from "effect"
import type { Layer } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export interface ApmPromise<R> {
  /** Runs `f` as one operation; resolves or rejects as `f` does. */
  readonly trace: <A>(
    name: string,
    type: OperationType.OperationType,
    f: () => PromiseLike<A>,
    attributes?: PerformanceMetrics.Attributes
  ) => Promise<A>
  /** Runs the synchronous `f` as one operation; returns or throws as `f` does. */
  readonly traceSync: <A>(
    name: string,
    type: OperationType.OperationType,
    f: () => A,
    attributes?: PerformanceMetrics.Attributes
  ) => A
  /** Runs any effect on the same runtime (to read summaries, for example). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, R>) => Promise<A>
  /** Releases the layer: flushes spans, stops servers and samplers. */
  readonly dispose: () => Promise<void>
}

/** What the function threw or rejected with, unwrapped from the cause. */
const rethrow = <A>(exit: Exit.Exit<A, unknown>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

/**
 * Builds `layer` (which must provide `Apm`) and returns the traced runners.
 *
 * @example
 * ```ts
 * declare const db: { readonly users: { find(id: number): Promise<{ readonly name: string }> } }
 *
 * const apm = await ApmPromise.make(ApmLive)
 * const user = await apm.trace("load_user", "database_query", () => db.users.find(42))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = async <R, E>(layer: Layer.Layer<Apm.Apm | R, E>): Promise<ApmPromise<Apm.Apm | R>> => {
  const runtime = ManagedRuntime.make(layer)
  // Built now, so that traceSync can run synchronously on it.
  await runtime.context()
  const caught = (error: unknown) => error
  return {
    trace: (name, type, f, attributes) =>
      runtime.runPromiseExit(
        Apm.trace(Effect.tryPromise({ try: () => Promise.resolve(f()), catch: caught }), name, type, attributes)
      ).then(rethrow),
    traceSync: (name, type, f, attributes) =>
      rethrow(runtime.runSyncExit(Apm.trace(Effect.try({ try: f, catch: caught }), name, type, attributes))),
    run: (effect) => runtime.runPromise(effect),
    dispose: () => runtime.dispose()
  }
}
