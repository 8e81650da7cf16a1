/**
 * The `Apm` service and its combinators, which the public `Apm` module
 * re-exports beside the profiling helpers; here so that `internal/apmProfiling.ts`,
 * which builds on `trace`, does not import the module that re-exports it.
 *
 * @internal
 */
import { Clock, Context, Effect, Exit, Layer, Option, Tracer } from "effect"
import type { Fiber } from "effect"
import { dual } from "effect/Function"
import type { Mutable } from "effect/Types"
import * as AnomalyDetector from "../AnomalyDetector.ts"
import type { ApmOptions } from "../ApmConfig.ts"
import { ApmConfig } from "../ApmConfig.ts"
import * as BaselineStore from "../BaselineStore.ts"
import * as ErrorType from "../ErrorType.ts"
import * as Insights from "../Insights.ts"
import type { ExitOutcome } from "./exitOutcome.ts"
import { cutText, safeAttributes } from "./attributeValues.ts"
import { describeExit, safeMessage, succeeded } from "./exitOutcome.ts"
import * as OperationResources from "./operationResources.ts"
import type { OperationStats } from "./operationStats.ts"
import { OperationTable } from "./operationTable.ts"
import type { OperationSummary } from "../OperationSummary.ts"
import type { OperationType } from "../OperationType.ts"
import { slowThreshold, spanKind } from "../OperationType.ts"
import type { Attributes, OperationStatus, PerformanceMetrics } from "../PerformanceMetrics.ts"
import type { OperationResourceUsage, ResourceMonitorService, ResourceUsage } from "../ResourceMonitor.ts"
import { cpuFraction, memoryFraction, ResourceMonitor } from "../ResourceMonitor.ts"
import type { Rules } from "../Redaction.ts"
import { CurrentRules, redactText } from "../Redaction.ts"

/**
 * Receives every finished operation, synchronously, on the traced fiber,
 * with the operation's own span while it is still open (so that a listener
 * can mark it), or `undefined` for an operation without a span of its own
 * (`recordMeasured`). Listeners must be quick and must not throw: they run
 * on every operation.
 *
 * @category models
 * @since 0.1.0
 */
export type OperationListener = (
  record: PerformanceMetrics,
  context: Context.Context<never>,
  span: Tracer.Span | undefined
) => void

/**
 * Extra listeners the `Apm` layer hands every finished operation to, beside
 * the baseline store and the anomaly detector (`ApmTest` records with one).
 *
 * @category references
 * @since 0.1.0
 */
export const OperationListeners = Context.Reference<ReadonlyArray<OperationListener>>(
  "@mcp-apm/core/Apm/OperationListeners",
  { defaultValue: () => [] }
)

/**
 * An operation timed outside `Apm.trace`: `duration` in seconds, ending now.
 *
 * @category models
 * @since 0.1.0
 */
export interface MeasuredOperation {
  readonly name: string
  readonly type: OperationType
  readonly duration: number
  readonly status: OperationStatus
  readonly errorMessage?: string | undefined
  /** OpenTelemetry's `error.type` of a failed operation; `_OTHER` when not given. */
  readonly errorType?: string | undefined
  readonly attributes?: Attributes | undefined
}

/**
 * How `Apm.trace` makes an operation's span.
 *
 * @category models
 * @since 0.1.0
 */
export interface TraceOptions {
  /** The span kind; by default the operation type's (see `OperationType.spanKind`). */
  readonly kind?: Tracer.SpanKind | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ApmService {
  readonly options: ApmOptions
  /**
   * Runs `self` as one operation of `fiber`, the fiber that is about to run
   * it, inside a span made from `span`. When monitoring is off it runs
   * `self`, with no span at all. `trace` builds the span's options at its
   * call site, once.
   */
  readonly instrument: <A, E, R>(
    fiber: Fiber.Fiber<unknown, unknown>,
    self: Effect.Effect<A, E, R>,
    span: SpanTemplate,
    name: string,
    type: OperationType,
    attributes: Attributes | undefined
  ) => Effect.Effect<A, E, R>
  /**
   * Records a finished operation synchronously, for callers that are not
   * effects (a span that ends, see `SpanOperations`): `startMillis` is its
   * start in epoch milliseconds, `span` its span, still open, if it has one.
   */
  readonly recordUnsafe: (
    operation: MeasuredOperation,
    startMillis: number,
    context: Context.Context<never>,
    span: Tracer.Span | undefined
  ) => void
  /**
   * Records an operation that the caller timed itself, with the same
   * metrics, summary and listeners as a traced one, but no span.
   */
  readonly recordMeasured: (operation: MeasuredOperation) => Effect.Effect<void>
  readonly summary: (name: string) => Effect.Effect<Option.Option<OperationSummary>>
  readonly summaries: Effect.Effect<ReadonlyArray<OperationSummary>>
  readonly baselines: Effect.Effect<ReadonlyArray<BaselineStore.PerformanceBaseline>>
  readonly recentAnomalies: (count: number) => Effect.Effect<ReadonlyArray<AnomalyDetector.Anomaly>>
  readonly insights: Effect.Effect<ReadonlyArray<Insights.Insight>>
  /** The resource monitor's current reading; `None` without a monitor. */
  readonly resourceUsage: Effect.Effect<Option.Option<ResourceUsage>>
}

/**
 * The APM service. `ApmLive` (runtime) provides it in production, `ApmTest`
 * in tests.
 *
 * @category services
 * @since 0.1.0
 */
export class Apm extends Context.Service<Apm, ApmService>()("@mcp-apm/core/Apm") {}

/**
 * The span attribute that marks a span as an `Apm.trace` operation's, with
 * its operation type as value.
 *
 * @category constants
 * @since 0.1.0
 */
export const operationTypeKey = "apm.operation.type"

/**
 * The name and options of the span `Apm.trace` opens for an operation.
 *
 * @category models
 * @since 0.1.0
 */
export interface SpanTemplate {
  readonly name: string
  readonly options: Tracer.SpanOptionsNoTrace
}

const noAttributes: Attributes = {}

/**
 * What `make` builds the service from.
 *
 * @category models
 * @since 0.1.0
 */
export interface ApmParts {
  readonly baselines: BaselineStore.BaselineStoreService
  readonly detector: AnomalyDetector.AnomalyDetectorService
  readonly listeners: ReadonlyArray<OperationListener>
  /**
   * Where resource readings come from: the current reading for insights and
   * `resourceUsage`, and the process probes read around the
   * `memorySampleRate` fraction of operations whose memory and CPU deltas
   * are recorded. Without one, nothing is sampled.
   */
  readonly monitor?: ResourceMonitorService | undefined
}

/**
 * Builds the service over validated options. The baseline store, then the
 * detector, then each listener sees every finished operation.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: ApmOptions, parts: ApmParts): ApmService => {
  const table = new OperationTable(options.maxOperations)
  const resources = OperationResources.make(options, parts.monitor)
  const listeners: ReadonlyArray<OperationListener> = [
    parts.baselines.observe,
    parts.detector.observe,
    ...parts.listeners
  ]

  const finish = (
    stats: OperationStats,
    name: string,
    startMillis: number,
    duration: number,
    outcome: ExitOutcome,
    attributes: Attributes | undefined,
    context: Context.Context<never>,
    resourceUsage: OperationResourceUsage | undefined,
    span: Tracer.Span | undefined
  ): Effect.Effect<void> | undefined => {
    const slow = duration > slowThreshold(options, stats.type)
    const record: Mutable<PerformanceMetrics> = {
      operationName: stats.name,
      operationType: stats.type,
      startTime: startMillis,
      endTime: startMillis + duration * 1000,
      duration,
      status: outcome.status,
      success: outcome.status === "ok",
      slow,
      attributes: attributes ?? noAttributes
    }
    // Assigned, not spread: this runs on every operation, and absent keys stay absent.
    if (outcome.message !== undefined) record.errorMessage = outcome.message
    if (outcome.errorType !== undefined) {
      record.errorType = outcome.errorType
      span?.attribute("error.type", outcome.errorType)
    }
    if (resourceUsage !== undefined) record.resourceUsage = resourceUsage
    stats.add(record)
    for (const listener of listeners) listener(record, context, span)
    return options.debugMode
      ? Effect.logDebug(`${name} (${stats.type}) ${outcome.status} in ${(duration * 1000).toFixed(3)} ms`)
      : undefined
  }

  const instrument = <A, E, R>(
    fiber: Fiber.Fiber<unknown, unknown>,
    self: Effect.Effect<A, E, R>,
    template: SpanTemplate,
    name: string,
    type: OperationType,
    attributes: Attributes | undefined
  ): Effect.Effect<A, E, R> => {
    if (!options.enabled) return self
    const stats = table.get(name, type)
    stats.exportTo(fiber.context)
    // For most operations this is one generator step and a compare; see internal/operationResources.ts.
    const sample = resources === undefined ? undefined : resources.start()
    // The record is finished inside the span, before the span ends, so that `error.type` and the listeners' marks
    // (an anomaly's score) land on the operation's own span.
    return Effect.useSpan(template.name, template.options, (span) => {
      const clock = fiber.getRef(Clock.Clock)
      // The operation starts and ends when its span does, read once from the clock, so the two durations are one.
      // A span started with timing off (`TracerTimingEnabled`) starts at 0, and is left to end as Effect ends it.
      const timed = span.status.startTime !== 0n
      const start = timed ? span.status.startTime : clock.currentTimeNanosUnsafe()
      stats.active++
      // The span as parent and nothing else: `Effect.withParentSpan` would add a stack frame, a second context
      // change, that a defect's trace would show and the effect without `Apm.trace` would not.
      return Effect.onExitPrimitive(Effect.provideService(self, Tracer.ParentSpan, span), (exit: Exit.Exit<A, E>) => {
        const end = clock.currentTimeNanosUnsafe()
        const duration = Number(end - start) / 1e9
        stats.active--
        const usage = sample === undefined ? undefined : resources!.finish(sample, stats, duration, fiber.context)
        // The redaction rules matter only to a failure's message: a success does not look them up.
        const outcome = Exit.isSuccess(exit) ? succeeded : describeExit(exit, fiber.getRef(CurrentRules))
        const log = finish(stats, name, Number(start) / 1e6, duration, outcome, attributes, fiber.context, usage, span)
        if (timed) span.end(end, exit)
        return log
      })
    })
  }

  const recordUnsafe = (
    operation: MeasuredOperation,
    startMillis: number,
    context: Context.Context<never>,
    span: Tracer.Span | undefined
  ): void => {
    if (!options.enabled) return
    const stats = table.get(operation.name, operation.type)
    stats.exportTo(context)
    const rules = Context.get(context, CurrentRules)
    const debugLog = finish(
      stats,
      operation.name,
      startMillis,
      operation.duration,
      measuredOutcome(operation, rules),
      safeAttributes(operation.attributes, options.maxAttributeLength, rules),
      context,
      undefined,
      span
    )
    if (debugLog !== undefined) Effect.runForkWith(context)(debugLog)
  }

  const recordMeasured = (operation: MeasuredOperation): Effect.Effect<void> => {
    if (!options.enabled) return Effect.void
    return Effect.withFiber((fiber) => {
      const stats = table.get(operation.name, operation.type)
      stats.exportTo(fiber.context)
      const end = fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
      const rules = fiber.getRef(CurrentRules)
      const start = end - operation.duration * 1000
      return finish(
        stats,
        operation.name,
        start,
        operation.duration,
        measuredOutcome(operation, rules),
        safeAttributes(operation.attributes, options.maxAttributeLength, rules),
        fiber.context,
        undefined,
        undefined
      ) ?? Effect.void
    })
  }

  const summaries = Effect.sync(() => table.all().map((stats) => stats.summary()))

  return {
    options,
    instrument,
    recordUnsafe,
    recordMeasured,
    summary: (name) =>
      Effect.sync(() => {
        const found = table.find(name)
        return found.length === 0 ? Option.none() : Option.some(found[0]!.summary())
      }),
    summaries,
    baselines: parts.baselines.baselines,
    recentAnomalies: parts.detector.recentAnomalies,
    insights: Effect.gen(function*() {
      const usage = parts.monitor === undefined ? undefined : yield* parts.monitor.current
      return Insights.compute({
        options,
        summaries: yield* summaries,
        baselines: yield* parts.baselines.baselines,
        // Half the baseline window: recent enough to show a change, large enough for a stable p95.
        recentDurations: (name) =>
          parts.baselines.recentDurations(
            name,
            Math.max(options.anomalyWindowSize, Math.floor(options.baselineWindowSize / 2))
          ),
        anomalies: yield* parts.detector.recentAnomalies(AnomalyDetector.historySize),
        cpuFraction: usage === undefined ? undefined : cpuFraction(usage),
        memoryFraction: usage === undefined ? undefined : memoryFraction(usage)
      })
    }),
    resourceUsage: parts.monitor === undefined
      ? Effect.succeed(Option.none())
      : Effect.map(parts.monitor.current, Option.some)
  }
}

// One builder for both wirings, so that the monitor is either a typed requirement or explicitly absent.
const layerOver = <R>(monitor: Effect.Effect<ResourceMonitorService | undefined, never, R>) =>
  Layer.effect(
    Apm,
    Effect.gen(function*() {
      const apm = make(yield* ApmConfig, {
        baselines: yield* BaselineStore.BaselineStore,
        detector: yield* AnomalyDetector.AnomalyDetector,
        listeners: yield* OperationListeners,
        monitor: yield* monitor
      })
      const sources = yield* Insights.InsightSources
      return sources.length === 0
        ? apm
        : { ...apm, insights: Insights.withSources(apm.insights, apm.options, apm.summaries, sources) }
    })
  )

/**
 * The service over the configuration, baseline store, detector and
 * resource monitor in context. Its insights include those of the
 * `Insights.InsightSources` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerNoDeps: Layer.Layer<
  Apm,
  never,
  ApmConfig | BaselineStore.BaselineStore | AnomalyDetector.AnomalyDetector | ResourceMonitor
> = layerOver(ResourceMonitor)

const measuredOutcome = (operation: MeasuredOperation, rules: Rules): ExitOutcome => {
  if (operation.status === "ok" && operation.errorMessage === undefined) return succeeded
  const failed = operation.status === "error" || operation.status === "defect"
  return {
    status: operation.status,
    message: operation.errorMessage === undefined ? undefined : safeMessage(operation.errorMessage, rules),
    errorType: failed ? cutText(operation.errorType ?? ErrorType.other, ErrorType.maxLength) : undefined
  }
}

/**
 * The service with an in-memory baseline store and detector, over the
 * `ApmConfig` and the `ResourceMonitor` in context: the monitor's readings
 * feed `resourceUsage`, the resource insights and the memory and CPU deltas
 * of the sampled operations. Without a monitor, use `layerWithoutResources`.
 *
 * @example
 * ```ts
 * declare const NodeResourceMonitor: { layer: () => Layer.Layer<ResourceMonitor.ResourceMonitor> } // @mcp-apm/runtime's
 *
 * const ApmNode = Apm.layer.pipe(
 *   Layer.provide(NodeResourceMonitor.layer()),
 *   Layer.provide(ApmConfig.ApmConfig.layer())
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  Apm | BaselineStore.BaselineStore | AnomalyDetector.AnomalyDetector,
  never,
  ApmConfig | ResourceMonitor
> = layerNoDeps.pipe(
  Layer.provideMerge(AnomalyDetector.layer),
  Layer.provideMerge(BaselineStore.layer)
)

/**
 * `layer` with no resource monitor: `resourceUsage` is `None`, no operation
 * samples memory or CPU, and insights leave resources out.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWithoutResources: Layer.Layer<
  Apm | BaselineStore.BaselineStore | AnomalyDetector.AnomalyDetector,
  never,
  ApmConfig
> = layerOver(Effect.undefined).pipe(
  Layer.provideMerge(AnomalyDetector.layer),
  Layer.provideMerge(BaselineStore.layer)
)

/**
 * Traces an effect as one operation: a span named `name` carrying
 * `apm.operation.type` and `attributes`, of the type's span kind (`client`
 * for database queries, external APIs and model requests, `server` for
 * HTTP requests, else `internal`; `options.kind` overrides it), the core
 * metrics, a `PerformanceMetrics` record and the operation's summary. A
 * failure or defect sets `error.type` on the span and the record. The
 * effect's success, typed failure, defect or interruption passes through
 * unchanged. With `enabled` off, or `businessTransactionMonitoringEnabled`
 * off for a `business_transaction`, the effect runs as it is, untraced.
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
    attributes?: Attributes,
    options?: TraceOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | Apm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    name: string,
    type: OperationType,
    attributes?: Attributes,
    options?: TraceOptions
  ): Effect.Effect<A, E, R | Apm>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    name: string,
    type: OperationType,
    attributes?: Attributes,
    options?: TraceOptions
  ) => traceAs(name, type, attributes, options)(self)
)

/**
 * The function `trace` applies: built once per call site (and once per
 * `fn`), so that the span's name and attributes are made safe once, not on
 * every run.
 */
const traceAs = (name: string, type: OperationType, attributes?: Attributes, options?: TraceOptions) => {
  // Built on first run, once per attribute bound: the bound is the Apm's, known only inside the fiber.
  let built: TracedSpan | undefined
  const kind = options?.kind ?? spanKind(type)
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | Apm> =>
    Effect.withFiber((fiber) => {
      const apm = Context.getUnsafe(fiber.context, Apm)
      if (
        !apm.options.enabled || (!apm.options.businessTransactionMonitoringEnabled && type === "business_transaction")
      ) {
        return self
      }
      const bound = apm.options.maxAttributeLength
      const rules = fiber.getRef(CurrentRules)
      if (built?.bound !== bound || built.rules !== rules) built = traceSpan(name, type, kind, attributes, bound, rules)
      return apm.instrument(fiber, self, built.span, name, type, built.attributes)
    })
}

interface TracedSpan {
  readonly bound: number
  readonly rules: Rules
  readonly span: SpanTemplate
  readonly attributes: Attributes | undefined
}

const traceSpan = (
  name: string,
  type: OperationType,
  kind: Tracer.SpanKind,
  given: Attributes | undefined,
  bound: number,
  rules: Rules
): TracedSpan => {
  const attributes = safeAttributes(given, bound, rules)
  const spanAttributes = attributes === undefined
    ? { [operationTypeKey]: type }
    : { ...attributes, [operationTypeKey]: type }
  const span = { name: cutText(redactText(name, rules), bound), options: { attributes: spanAttributes, kind } }
  return { bound, rules, span, attributes }
}

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
export const fn =
  (name: string, type: OperationType, attributes?: Attributes, options?: TraceOptions) =>
  <Eff extends Effect.Effect<any, any, any>, AEff, Args extends Array<any>>(
    body: (...args: Args) => Generator<Eff, AEff, never>
  ): (
    ...args: Args
  ) => Effect.Effect<
    AEff,
    [Eff] extends [never] ? never
      : [Eff] extends [Effect.Effect<infer _A, infer E, infer _R>] ? E
      : never,
    ([Eff] extends [never] ? never
      : [Eff] extends [Effect.Effect<infer _A, infer _E, infer R>] ? R
      : never) | Apm
  > => {
    const run = Effect.fnUntraced(body)
    const traced = traceAs(name, type, attributes, options)
    return (...args) => traced(run(...args))
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

/**
 * Records an operation the caller timed itself (see `ApmService.recordMeasured`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const recordMeasured = (operation: MeasuredOperation): Effect.Effect<void, never, Apm> =>
  Apm.use((apm) => apm.recordMeasured(operation))

/**
 * Every operation's current baseline.
 *
 * @category accessors
 * @since 0.1.0
 */
export const baselines: Effect.Effect<ReadonlyArray<BaselineStore.PerformanceBaseline>, never, Apm> = Apm.use((apm) =>
  apm.baselines
)

/**
 * The newest `count` anomaly records, newest first.
 *
 * @category accessors
 * @since 0.1.0
 */
export const recentAnomalies = (count: number): Effect.Effect<ReadonlyArray<AnomalyDetector.Anomaly>, never, Apm> =>
  Apm.use((apm) => apm.recentAnomalies(count))

/**
 * Plain-language insights over everything recorded, most severe first.
 *
 * @category accessors
 * @since 0.1.0
 */
export const insights: Effect.Effect<ReadonlyArray<Insights.Insight>, never, Apm> = Apm.use((apm) => apm.insights)

/**
 * The resource monitor's current reading (CPU, memory, event loop, GC, disk
 * and network I/O); `None` under `Apm.layerWithoutResources`.
 *
 * @category accessors
 * @since 0.1.0
 */
export const resourceUsage: Effect.Effect<Option.Option<ResourceUsage>, never, Apm> = Apm.use((apm) =>
  apm.resourceUsage
)
