/**
 * The facade of mcp-apm: wrap an effect in `Apm.trace` and get a span, the
 * core metrics, a `PerformanceMetrics` record and a running summary.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Option } from "effect"
import type { Exit } from "effect"
import { dual } from "effect/Function"
import type { ApmOptions } from "./ApmConfig.ts"
import { ApmConfig } from "./ApmConfig.ts"
import { describeExit } from "./internal/exitOutcome.ts"
import { OperationTable } from "./internal/operationTable.ts"
import type { OperationSummary } from "./OperationSummary.ts"
import type { OperationType } from "./OperationType.ts"
import { slowThreshold } from "./OperationType.ts"
import type { Attributes, PerformanceMetrics } from "./PerformanceMetrics.ts"

/**
 * Receives every finished operation, synchronously, on the traced fiber.
 * Listeners must be quick and must not throw: they run on every operation.
 *
 * @category models
 * @since 0.1.0
 */
export type OperationListener = (record: PerformanceMetrics) => void

/**
 * @category models
 * @since 0.1.0
 */
export interface ApmService {
  readonly options: ApmOptions
  /**
   * Runs `spanned` (which is `self` inside its span) as one operation. When
   * monitoring is off it runs `self`, with no span at all. `trace` builds the
   * span at its call site, once, because capturing the call site costs more
   * than the whole rest of an operation.
   */
  readonly instrument: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    spanned: Effect.Effect<A, E, R>,
    name: string,
    type: OperationType,
    attributes: Attributes | undefined
  ) => Effect.Effect<A, E, R>
  readonly summary: (name: string) => Effect.Effect<Option.Option<OperationSummary>>
  readonly summaries: Effect.Effect<ReadonlyArray<OperationSummary>>
}

/**
 * The APM service. `ApmLive` (runtime) provides it in production, `ApmTest`
 * in tests.
 *
 * @category services
 * @since 0.1.0
 */
export class Apm extends Context.Service<Apm, ApmService>()("@mcp-apm/core/Apm") {}

const operationTypeKey = "apm.operation.type"
const noAttributes: Attributes = {}

/**
 * Builds the service over validated options. Each listener sees every
 * finished operation.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: ApmOptions, listeners: ReadonlyArray<OperationListener> = []): ApmService => {
  const table = new OperationTable(options.maxOperations)

  const instrument = <A, E, R>(
    self: Effect.Effect<A, E, R>,
    spanned: Effect.Effect<A, E, R>,
    name: string,
    type: OperationType,
    attributes: Attributes | undefined
  ): Effect.Effect<A, E, R> => {
    if (!options.enabled) return self
    const stats = table.get(name, type)
    const threshold = slowThreshold(options, type)
    return Effect.withFiber((fiber) => {
      const clock = fiber.getRef(Clock.Clock)
      const start = clock.currentTimeNanosUnsafe()
      stats.exportTo(fiber.context)
      stats.active++
      return Effect.onExitPrimitive(spanned, (exit: Exit.Exit<A, E>) => {
        const end = clock.currentTimeNanosUnsafe()
        const duration = Number(end - start) / 1e9
        const outcome = describeExit(exit)
        const slow = duration > threshold
        const record: PerformanceMetrics = {
          operationName: stats.name,
          operationType: stats.type,
          startTime: Number(start / 1_000_000n),
          endTime: Number(end / 1_000_000n),
          duration,
          status: outcome.status,
          success: outcome.status === "ok",
          slow,
          ...(outcome.message === undefined ? {} : { errorMessage: outcome.message }),
          attributes: attributes ?? noAttributes
        }
        stats.active--
        stats.add(record)
        for (const listener of listeners) listener(record)
        return options.debugMode
          ? Effect.logDebug(`${name} (${type}) ${outcome.status} in ${(duration * 1000).toFixed(3)} ms`)
          : undefined
      })
    })
  }

  return {
    options,
    instrument,
    summary: (name) =>
      Effect.sync(() => {
        const found = table.find(name)
        return found.length === 0 ? Option.none() : Option.some(found[0]!.summary())
      }),
    summaries: Effect.sync(() => table.all().map((stats) => stats.summary()))
  }
}

/**
 * The service over the `ApmConfig` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Apm, never, ApmConfig> = Layer.effect(
  Apm,
  Effect.map(ApmConfig, (options) => make(options))
)

/**
 * Traces an effect as one operation: a span named `name` carrying
 * `apm.operation.type` and `attributes`, the core metrics, a
 * `PerformanceMetrics` record and the operation's summary. The effect's
 * success, typed failure, defect or interruption passes through unchanged.
 *
 * @example
 * ```ts
 * const login = performLogin.pipe(Apm.trace("user_login", "http_request", { user_id: "123" }))
 * const same = Apm.trace(performLogin, "user_login", "http_request")
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const trace: {
  (
    name: string,
    type: OperationType,
    attributes?: Attributes
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | Apm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    name: string,
    type: OperationType,
    attributes?: Attributes
  ): Effect.Effect<A, E, R | Apm>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, type: OperationType, attributes?: Attributes) => {
    const spanAttributes = attributes === undefined
      ? { [operationTypeKey]: type }
      : { ...attributes, [operationTypeKey]: type }
    const spanned = Effect.withSpan(self, name, { attributes: spanAttributes })
    return Effect.withFiber((fiber) =>
      Context.getUnsafe(fiber.context, Apm).instrument(self, spanned, name, type, attributes)
    )
  }
)

/**
 * Like `Effect.fn`: turns a generator function into a function whose every
 * call is traced as one operation.
 *
 * @example
 * ```ts
 * const checkout = Apm.fn("checkout", "business_transaction")(function*(cart: Cart) {
 *   return yield* charge(cart)
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fn = (name: string, type: OperationType, attributes?: Attributes) =>
<Eff extends Effect.Effect<any, any, any>, AEff, Args extends Array<any>>(
  body: (...args: Args) => Generator<Eff, AEff, never>
): (
  ...args: Args
) => Effect.Effect<
  AEff,
  [Eff] extends [never] ? never : [Eff] extends [Effect.Effect<infer _A, infer E, infer _R>] ? E : never,
  ([Eff] extends [never] ? never : [Eff] extends [Effect.Effect<infer _A, infer _E, infer R>] ? R : never) | Apm
> => {
  const run = Effect.fnUntraced(body)
  return (...args) => trace(run(...args), name, type, attributes)
}

/**
 * The summary of the operation named `name`, if it ran.
 *
 * @category accessors
 * @since 0.1.0
 */
export const summary = (name: string): Effect.Effect<Option.Option<OperationSummary>, never, Apm> =>
  Apm.use((apm) => apm.summary(name))

/**
 * The summaries of every operation that ran.
 *
 * @category accessors
 * @since 0.1.0
 */
export const summaries: Effect.Effect<ReadonlyArray<OperationSummary>, never, Apm> = Apm.use((apm) => apm.summaries)
