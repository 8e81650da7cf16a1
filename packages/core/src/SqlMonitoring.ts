/**
 * Database monitoring with no code: every statement an app runs through
 * effect/sql's `SqlClient` (with any driver, `@effect/sql-pg` included)
 * becomes a `database_query` operation, from the CLIENT span effect/sql
 * opens for it.
 *
 * effect/sql's span carries `db.system.name`, `db.namespace`,
 * `server.address` and the statement as sent (`db.query.text`, with `$1`
 * placeholders, and any literal the app wrote into it). As the span ends,
 * before it is exported, this module normalises `db.query.text` (no literal
 * survives), adds `db.query.summary`, `db.operation.name` and
 * `db.collection.name`, names the span by its summary (`SELECT users`), and
 * records the operation: metrics, summary, baseline and anomaly detection
 * like every operation, the `db.client.operation.duration` histogram, and
 * the slow-query counter and log (rate-limited per query) past
 * `databaseQueryThreshold`. With `databaseMonitoringEnabled` (or `enabled`)
 * off, spans are left as they are.
 *
 * Each query is also counted against its parent operation (the nearest
 * enclosing `Apm.trace` span, else the outermost local span, such as the
 * HTTP server span) in a bounded `QueryPatterns`, from which the N+1,
 * dominant-query and regression insights are read, by `Apm.insights` too.
 *
 * Two layers: `layerPatterns` below `Apm` (whose insights it adds to), and
 * `layer`, the tracer, above it. The tracer wraps the one in context:
 * install it above `SpanOperations`, whose bridge then skips the spans
 * recorded here. The span ends exactly as it would; a failure to record is
 * logged (rate-limited) and never reaches the application.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Exit, Layer, Metric, Tracer } from "effect"
import type { ApmService } from "./Apm.ts"
import { Apm, operationTypeKey } from "./Apm.ts"
import * as ErrorType from "./ErrorType.ts"
import * as Insights from "./Insights.ts"
import * as DatabaseMetrics from "./internal/databaseMetrics.ts"
import { describeExit } from "./internal/exitOutcome.ts"
import { spanEndWatcher, watchSpans } from "./internal/spanEnds.ts"
import type { Attributes } from "./PerformanceMetrics.ts"
import { shape } from "./QueryNormalizer.ts"
import type { QueryShape } from "./QueryNormalizer.ts"
import { QueryPatterns } from "./QueryPatterns.ts"
import type { Options as PatternOptions } from "./QueryPatterns.ts"
import * as RateLimitedLog from "./RateLimitedLog.ts"
import { classify } from "./SpanOperations.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface InsightOptions {
  /**
   * The moment (epoch milliseconds) a query's slowdown is measured from;
   * by default one `baselineUpdateInterval` ago.
   */
  readonly since?: number | undefined
}

/**
 * The service: the query patterns seen so far and the database insights
 * read from them.
 *
 * @category services
 * @since 0.1.0
 */
export class SqlMonitoring extends Context.Service<SqlMonitoring, {
  readonly patterns: QueryPatterns
  readonly insights: (options?: InsightOptions) => Effect.Effect<ReadonlyArray<Insights.Insight>>
}>()("@mcp-apm/core/SqlMonitoring") {}

/** What a statement's text gives, read once per distinct text: effect/sql sends the same text for every run. */
interface Prepared {
  readonly query: QueryShape
  readonly system: string
  readonly attributes: Readonly<Record<string, string>>
  readonly duration: Metric.Metric<number, unknown>
  /** The operation's attributes for the connection it last ran on: an app runs a statement on one database. */
  operation?: { readonly connection: ReadonlyArray<unknown>; readonly attributes: Attributes } | undefined
}

/** Distinct statement texts kept prepared per database system; past it the oldest goes. */
const maxPrepared = 1024
/** Database systems kept prepared; an app talks to a handful. */
const maxSystems = 8

/** Connection attributes effect/sql's span carries that an operation keeps. */
const connectionAttributes = ["db.namespace", "server.address", "server.port"] as const

// Compared in place: this runs on every query, and the usual answer is yes.
const sameConnection = (connection: ReadonlyArray<unknown>, span: Tracer.Span): boolean => {
  for (let i = 0; i < connectionAttributes.length; i++) {
    if (connection[i] !== span.attributes.get(connectionAttributes[i]!)) return false
  }
  return true
}

/**
 * The statement's attributes and the connection's, one frozen object per
 * statement and connection, so that the APM checks it once, not per run.
 */
const operationAttributes = (prepared: Prepared, span: Tracer.Span): Attributes => {
  const last = prepared.operation
  if (last !== undefined && sameConnection(last.connection, span)) return last.attributes
  const connection = connectionAttributes.map((key) => span.attributes.get(key))
  const attributes: Record<string, string | number | boolean> = { ...prepared.attributes }
  connectionAttributes.forEach((key, i) => {
    const value = connection[i]
    if (typeof value === "string" || typeof value === "number") attributes[key] = value
  })
  prepared.operation = { connection, attributes: Object.freeze(attributes) as Attributes }
  return prepared.operation.attributes
}

const isStatement = (span: Tracer.Span): boolean =>
  span.kind === "client" && span.attributes.has("db.system.name") && typeof span.attributes.get("db.query.text") ===
    "string" &&
  !span.attributes.has(operationTypeKey)

/**
 * The span of the operation a query runs in: the nearest `Apm.trace` span,
 * else the outermost local span that is not effect/sql's own (a
 * transaction).
 */
const parentOf = (span: Tracer.Span): Tracer.Span | undefined => {
  let outermost: Tracer.Span | undefined
  let current = span.parent
  while (current._tag === "Some" && current.value._tag === "Span") {
    const s = current.value
    if (s.attributes.has(operationTypeKey)) return s
    if (!s.attributes.has("db.system.name")) outermost = s
    current = s.parent
  }
  return outermost
}

/**
 * Names a span as OpenTelemetry's database conventions do, `{db.query.summary}`;
 * effect/sql names it before the statement is known. Effect's spans have no
 * rename: a span backed by an SDK span (`@effect/opentelemetry`'s, or
 * runtime's `OtelSpanTracer`'s) keeps it as `span`, renamed through it
 * before it ends; any other span's `name` is set where it can be (what a
 * tracer reads at the end).
 */
const rename = (span: Tracer.Span, name: string): void => {
  const sdkSpan: unknown = (span as { readonly span?: unknown }).span
  if (
    typeof sdkSpan === "object" && sdkSpan !== null && "updateName" in sdkSpan &&
    typeof sdkSpan.updateName === "function"
  ) {
    sdkSpan.updateName(name)
  }
  Reflect.set(span, "name", name)
}

const operationNameOf = (span: Tracer.Span): string =>
  span.attributes.has(operationTypeKey) ? span.name : classify(span).name

/**
 * A tracer over `tracer` that records every effect/sql statement span as
 * it ends, against the metric registry and services of `context`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  tracer: Tracer.Tracer,
  apm: ApmService,
  patterns: QueryPatterns,
  context: Context.Context<never>
): Tracer.Tracer => {
  const log = RateLimitedLog.make({ interval: "1 minute" })
  // By system, then by text: no key to build on the hot path.
  const prepared = new Map<unknown, Map<string, Prepared>>()

  const prepare = (systemName: unknown, text: string): Prepared => {
    let bySystem = prepared.get(systemName)
    if (bySystem === undefined) {
      if (prepared.size >= maxSystems) prepared.clear()
      prepared.set(systemName, bySystem = new Map())
    }
    const found = bySystem.get(text)
    if (found !== undefined) return found
    const system = DatabaseMetrics.systemOf(String(systemName))
    const query = shape(text, system)
    const made: Prepared = {
      query,
      system,
      attributes: DatabaseMetrics.queryAttributes(query, system) as Record<string, string>,
      duration: DatabaseMetrics.durationMetric(query, system, undefined)
    }
    if (bySystem.size >= maxPrepared) bySystem.delete(bySystem.keys().next().value!)
    bySystem.set(text, made)
    return made
  }

  const recordQuery = (span: Tracer.Span, start: bigint, endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
    const prepared = prepare(span.attributes.get("db.system.name"), span.attributes.get("db.query.text") as string)
    const { query, system } = prepared
    const attributes = operationAttributes(prepared, span)
    // db.system.name and the connection attributes are effect/sql's own, already on the span.
    for (const key in prepared.attributes) if (key !== "db.system.name") span.attribute(key, prepared.attributes[key])
    span.attribute(operationTypeKey, "database_query")
    rename(span, query.operationName)
    // A span without timing (TracerTimingEnabled off) ends at 0: no duration, not a negative one.
    const duration = endTime > start ? Number(endTime - start) / 1e9 : 0
    const startMillis = Number(start) / 1e6
    const outcome = describeExit(exit)
    apm.recordUnsafe(
      {
        name: query.operationName,
        type: "database_query",
        duration,
        status: outcome.status,
        errorType: outcome.errorType,
        errorMessage: outcome.message,
        attributes
      },
      startMillis,
      context,
      span
    )
    const errorType = ErrorType.fromExit(exit)
    if (errorType === undefined) prepared.duration.updateUnsafe(duration, context)
    else DatabaseMetrics.recordDurationUnsafe(query, system, duration, errorType, context)
    if (duration > apm.options.databaseQueryThreshold) {
      DatabaseMetrics.countSlowUnsafe(query, context)
      Effect.runForkWith(context)(
        log.warn(`slow:${query.operationName}`, DatabaseMetrics.slowQueryMessage(query, duration)).pipe(
          Effect.withParentSpan(span)
        )
      )
    }
    const parent = parentOf(span)
    patterns.query(parent?.spanId, query.operationName, query.text, startMillis + duration * 1000, duration)
    // The parent is watched from its first query on: its end closes the count of its queries.
    if (parent !== undefined) watch(parent)
  }

  const observe = (span: Tracer.Span, endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
    if (span.status._tag !== "Started" || !apm.options.enabled || !apm.options.databaseMonitoringEnabled) return
    if (isStatement(span)) recordQuery(span, span.status.startTime, endTime, exit)
    else if (patterns.isOpen(span.spanId)) {
      patterns.parentEnded(span.spanId, operationNameOf(span), Number(endTime) / 1e6)
    }
  }

  const watch = spanEndWatcher("sql monitoring", observe, context)
  // effect/sql's statement spans are CLIENT spans; every other span is watched only once a query runs under it.
  return watchSpans(tracer, watch, (options) => options.kind === "client")
}

/**
 * The query patterns of one APM, kept below `Apm` so that `Apm.insights`
 * reads the database insights from them.
 *
 * @category services
 * @since 0.1.0
 */
export class Patterns extends Context.Service<Patterns, QueryPatterns>()("@mcp-apm/core/SqlMonitoring/Patterns") {}

/**
 * The N+1, dominant-query and regressed-query insights of `patterns`, the
 * regression measured from `since` (by default one `baselineUpdateInterval`
 * before `now`).
 *
 * @category accessors
 * @since 0.1.0
 */
export const databaseInsights = (
  patterns: QueryPatterns,
  { now, options, summaries }: Insights.SourceInput,
  since = now - options.baselineUpdateInterval * 1000
): ReadonlyArray<Insights.Insight> =>
  Insights.computeDatabase({
    options,
    summaries,
    database: {
      nPlusOne: patterns.nPlusOne(),
      nPlusOneThreshold: patterns.options.nPlusOneThreshold,
      parentsOf: (name) => patterns.parentsOf(name),
      samples: (name) => patterns.samples(name),
      since
    }
  })

/**
 * The query patterns, with the bounds of `options` (see `QueryPatterns`),
 * and their database insights appended to `Insights.InsightSources`. Goes
 * below `Apm`, and `layer` above it.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPatterns = (options: Partial<PatternOptions> = {}): Layer.Layer<Patterns> =>
  Layer.effectContext(Effect.gen(function*() {
    const patterns = new QueryPatterns(options)
    const sources = yield* Insights.InsightSources
    return Context.make(Patterns, patterns).pipe(
      Context.add(Insights.InsightSources, [...sources, (input) => databaseInsights(patterns, input)])
    )
  }))

/**
 * The service and its tracer over the tracer in context, recording into the
 * `Patterns` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<SqlMonitoring, never, Apm | Patterns> = Layer.effectContext(Effect.gen(function*() {
  const apm = yield* Apm
  const patterns = yield* Patterns
  const context = yield* Effect.context<never>()
  const insights = (insightOptions?: InsightOptions) =>
    Effect.gen(function*() {
      const input = {
        options: apm.options,
        summaries: yield* apm.summaries,
        now: yield* Clock.currentTimeMillis
      }
      return databaseInsights(patterns, input, insightOptions?.since)
    })
  return Context.make(SqlMonitoring, SqlMonitoring.of({ patterns, insights })).pipe(
    Context.add(Tracer.Tracer, make(yield* Tracer.Tracer, apm, patterns, context))
  )
}))
