/**
 * Plain-language insights: what is slow, failing, anomalous, drifting from
 * its baseline or short of resources, each with a recommendation and the
 * numbers that triggered it. A pure function of the current state, so that
 * every rule is tested on its own.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Schema } from "effect"
import type { ApmOptions } from "./ApmConfig.ts"
import type { Anomaly } from "./AnomalyDetector.ts"
import { Severity, severityRank } from "./Severity.ts"
import type { PerformanceBaseline } from "./BaselineStore.ts"
import type { OperationSummary } from "./OperationSummary.ts"
import { slowThreshold } from "./OperationType.ts"
import type { NPlusOne, QuerySample } from "./QueryPatterns.ts"

/**
 * @category models
 * @since 0.1.0
 */
export const InsightType = Schema.Literals([
  "slow_operation",
  "high_error_rate",
  "high_cpu_usage",
  "high_memory_usage",
  "anomaly",
  "baseline_deviation",
  "n_plus_one_query",
  "query_dominates_operation",
  "query_regression"
])

/**
 * @category models
 * @since 0.1.0
 */
export type InsightType = typeof InsightType.Type

/**
 * @category models
 * @since 0.1.0
 */
export const Insight = Schema.Struct({
  type: InsightType,
  severity: Severity,
  message: Schema.String,
  recommendation: Schema.String,
  operationName: Schema.optionalKey(Schema.String),
  values: Schema.Record(Schema.String, Schema.Finite)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Insight = typeof Insight.Type

/**
 * Everything the rules look at. Resource fractions are in [0, 1], absent
 * where no reading is available.
 *
 * @category models
 * @since 0.1.0
 */
export interface InsightInput {
  readonly options: ApmOptions
  readonly summaries: ReadonlyArray<OperationSummary>
  readonly baselines: ReadonlyArray<PerformanceBaseline>
  readonly recentDurations: (operationName: string) => ReadonlyArray<number>
  readonly anomalies: ReadonlyArray<Anomaly>
  readonly cpuFraction: number | undefined
  readonly memoryFraction: number | undefined
  /** What `SqlMonitoring` saw of the queries; without it, no database insight. */
  readonly database?: DatabaseInsightInput | undefined
}

/**
 * What the database rules look at, from `QueryPatterns`.
 *
 * @category models
 * @since 0.1.0
 */
export interface DatabaseInsightInput {
  readonly nPlusOne: ReadonlyArray<NPlusOne>
  /** How many runs of one query in one operation make an N+1 pattern. */
  readonly nPlusOneThreshold: number
  readonly parentsOf: (queryName: string) => ReadonlyArray<string>
  readonly samples: (queryName: string) => ReadonlyArray<QuerySample>
  /** The moment (epoch milliseconds) that a query's slowdown is measured from: runs before it are its baseline. */
  readonly since: number
}

/**
 * A query whose p95 is more than this share of its parent operation's p95
 * is most of that operation's time.
 *
 * @category constants
 * @since 0.1.0
 */
export const dominantQueryShare = 0.5

/**
 * A recent p95 this many times the baseline p95 is a deviation worth saying.
 * The p95 of a few dozen samples of a heavy-tailed operation easily swings
 * by half, so "well above" starts at double.
 *
 * @category constants
 * @since 0.1.0
 */
export const deviationRatio = 2

/** How many anomaly records become insights, newest first. */
const anomalyInsights = 10

const seconds = (s: number) => s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`
const percent = (f: number) => `${(f * 100).toFixed(1)}%`

const p95 = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!
}

const slowOperations = ({ options, summaries }: InsightInput): Array<Insight> =>
  summaries.flatMap((s) => {
    const threshold = slowThreshold(options, s.operationType)
    if (s.p95Duration <= threshold) return []
    return [{
      type: "slow_operation",
      severity: s.p95Duration > 2 * threshold ? "ERROR" : "WARNING",
      operationName: s.operationName,
      message: `${s.operationName} is slow: p95 ${seconds(s.p95Duration)} is over the ${
        seconds(threshold)
      } threshold for ${s.operationType}`,
      recommendation:
        "Profile the operation (Apm.profileCpu), look for N+1 queries, missing indexes or slow dependencies, and cache what can be cached.",
      values: { p95Duration: s.p95Duration, threshold, slowCount: s.slowCount, totalOperations: s.totalOperations }
    }]
  })

const highErrorRates = ({ options, summaries }: InsightInput): Array<Insight> =>
  summaries.flatMap((s) => {
    const errorRate = s.totalOperations === 0 ? 0 : s.errorCount / s.totalOperations
    if (s.totalOperations < options.insightMinOperations || errorRate <= options.errorRateThreshold) return []
    return [{
      type: "high_error_rate",
      severity: errorRate > 0.5 ? "CRITICAL" : "ERROR",
      operationName: s.operationName,
      message: `${s.operationName} fails often: ${
        percent(errorRate)
      } of ${s.totalOperations} operations ended in an error`,
      recommendation:
        "Read the recorded error messages, check the health of its dependencies, and add retries with backoff for transient failures.",
      values: {
        errorRate,
        errorCount: s.errorCount,
        totalOperations: s.totalOperations,
        threshold: options.errorRateThreshold
      }
    }]
  })

const resourceUsage = ({ options, cpuFraction, memoryFraction }: InsightInput): Array<Insight> => {
  const out: Array<Insight> = []
  if (cpuFraction !== undefined && cpuFraction > options.cpuUsageThreshold) {
    out.push({
      type: "high_cpu_usage",
      severity: cpuFraction > 0.95 ? "CRITICAL" : "WARNING",
      message: `CPU usage is ${percent(cpuFraction)}, over the ${percent(options.cpuUsageThreshold)} threshold`,
      recommendation:
        "Find the hot functions with a CPU profile, move heavy work off the event loop (worker threads), or scale out.",
      values: { cpuFraction, threshold: options.cpuUsageThreshold }
    })
  }
  if (memoryFraction !== undefined && memoryFraction > options.memoryUsageThreshold) {
    out.push({
      type: "high_memory_usage",
      severity: memoryFraction > 0.95 ? "CRITICAL" : "WARNING",
      message: `Memory usage is ${percent(memoryFraction)} of the limit, over the ${
        percent(options.memoryUsageThreshold)
      } threshold`,
      recommendation:
        "Take a heap profile (Apm.profileMemory) to find what grows, bound caches and buffers, or raise the memory limit.",
      values: { memoryFraction, threshold: options.memoryUsageThreshold }
    })
  }
  return out
}

const anomalies = ({ anomalies }: InsightInput): Array<Insight> =>
  anomalies.slice(0, anomalyInsights).map((a) => ({
    type: "anomaly",
    severity: a.severity,
    operationName: a.operationName,
    message: a.kind === "shift"
      ? `${a.operationName} has slowed down: durations up to ${seconds(a.duration)} against a baseline of ${
        seconds(a.baselineMean)
      }, ${a.count} unusual samples so far`
      : `${a.operationName} had an unusual duration of ${seconds(a.duration)} against a baseline of ${
        seconds(a.baselineMean)
      }`,
    recommendation: a.kind === "shift"
      ? "Check what changed when it started: a deploy, a dependency, data growth or load."
      : "Look at the trace of that operation; a one-off spike is often a cold cache, a GC pause or a slow dependency call.",
    values: {
      duration: a.duration,
      baselineMean: a.baselineMean,
      zScore: a.zScore,
      score: a.score,
      count: a.count,
      firstSeen: a.firstSeen,
      lastSeen: a.lastSeen
    }
  }))

const baselineDeviations = ({ options, baselines, recentDurations }: InsightInput): Array<Insight> =>
  baselines.flatMap((b) => {
    const recent = recentDurations(b.operationName)
    if (recent.length < options.anomalyWindowSize || b.p95 <= 0) return []
    const recentP95 = p95(recent)
    const ratio = recentP95 / b.p95
    if (ratio < deviationRatio) return []
    return [{
      type: "baseline_deviation",
      severity: ratio >= 3 ? "ERROR" : "WARNING",
      operationName: b.operationName,
      message: `${b.operationName} runs above its baseline: recent p95 ${seconds(recentP95)} is ${
        ratio.toFixed(1)
      }x the baseline p95 of ${seconds(b.p95)}`,
      recommendation:
        "Compare recent traces with older ones; if the new level is expected (new feature, more data), it becomes the baseline at the next update.",
      values: { recentP95, baselineP95: b.p95, ratio }
    }]
  })

/**
 * What the database rules read: the configuration, the summaries and what
 * `SqlMonitoring` saw.
 *
 * @category models
 * @since 0.1.0
 */
export type DatabaseRulesInput = Pick<InsightInput, "options" | "summaries" | "database">

const nPlusOneQueries = ({ database }: DatabaseRulesInput): Array<Insight> =>
  (database?.nPlusOne ?? []).map((f) => ({
    type: "n_plus_one_query",
    severity: f.count >= 4 * database!.nPlusOneThreshold ? "ERROR" : "WARNING",
    operationName: f.parentName,
    message: `${f.parentName} runs the same query ${f.count} times in one operation (N+1): ${f.queryText}`,
    recommendation:
      "Fetch the rows in one query (a JOIN, WHERE id = ANY($1) or IN (...)) or batch the loop with a data loader (effect/sql's SqlResolver).",
    values: { count: f.count, runs: f.runs, lastSeen: f.lastSeen }
  }))

const dominantQueries = ({ database, options, summaries }: DatabaseRulesInput): Array<Insight> => {
  if (database === undefined) return []
  const byName = new Map(summaries.map((s) => [s.operationName, s]))
  return summaries.flatMap((q) => {
    if (q.operationType !== "database_query" || q.totalOperations < options.insightMinOperations) return []
    return database.parentsOf(q.operationName).flatMap((parentName) => {
      const parent = byName.get(parentName)
      if (parent === undefined || parent.p95Duration <= 0 || parent.totalOperations < options.insightMinOperations) {
        return []
      }
      const share = q.p95Duration / parent.p95Duration
      if (share <= dominantQueryShare) return []
      return [{
        type: "query_dominates_operation" as const,
        severity: "WARNING" as const,
        operationName: parentName,
        message: `${q.operationName} takes most of ${parentName}: its p95 ${seconds(q.p95Duration)} is ${
          percent(Math.min(1, share))
        } of the operation's p95 ${seconds(parent.p95Duration)}`,
        recommendation:
          "Tune that query first: EXPLAIN ANALYZE it, add the index it needs, fetch fewer rows or columns, or cache its result.",
        values: { queryP95: q.p95Duration, operationP95: parent.p95Duration, share }
      }]
    })
  })
}

const queryRegressions = ({ database, options, summaries }: DatabaseRulesInput): Array<Insight> => {
  if (database === undefined) return []
  return summaries.flatMap((q) => {
    if (q.operationType !== "database_query") return []
    const samples = database.samples(q.operationName)
    const before = samples.filter((s) => s.endMillis < database.since).map((s) => s.duration)
    const after = samples.filter((s) => s.endMillis >= database.since).map((s) => s.duration)
    if (before.length < options.anomalyWindowSize || after.length < options.anomalyWindowSize) return []
    const baselineP95 = p95(before)
    const recentP95 = p95(after)
    const ratio = baselineP95 <= 0 ? 0 : recentP95 / baselineP95
    if (ratio < deviationRatio) return []
    return [{
      type: "query_regression" as const,
      severity: ratio >= 3 ? "ERROR" as const : "WARNING" as const,
      operationName: q.operationName,
      message: `${q.operationName} got slower after ${new Date(database.since).toISOString()}: p95 ${
        seconds(recentP95)
      } against ${seconds(baselineP95)} before, ${ratio.toFixed(1)}x`,
      recommendation:
        "Check what changed then: a migration or dropped index, table growth, lock contention, or a plan change (EXPLAIN ANALYZE, pg_stat_statements).",
      values: { since: database.since, baselineP95, recentP95, ratio, before: before.length, after: after.length }
    }]
  })
}

/**
 * Every insight that the input supports, most severe first.
 *
 * @category constructors
 * @since 0.1.0
 */
export const compute = (input: InsightInput): ReadonlyArray<Insight> => {
  return [
    ...highErrorRates(input),
    ...resourceUsage(input),
    ...anomalies(input),
    ...baselineDeviations(input),
    ...slowOperations(input),
    ...databaseRules(input)
  ].sort(bySeverity)
}

const bySeverity = (a: Insight, b: Insight) => severityRank[b.severity] - severityRank[a.severity]

const databaseRules = (input: DatabaseRulesInput): Array<Insight> => [
  ...nPlusOneQueries(input),
  ...dominantQueries(input),
  ...queryRegressions(input)
]

/**
 * The database insights alone (N+1 patterns, a query that is most of its
 * operation's time, a query slower since `database.since`), most severe
 * first: what `SqlMonitoring.insights` reports.
 *
 * @category constructors
 * @since 0.1.0
 */
export const computeDatabase = (input: DatabaseRulesInput): ReadonlyArray<Insight> =>
  databaseRules(input).sort(bySeverity)

/**
 * What an extra insight source reads: the configuration, every operation's
 * summary and the current time (epoch milliseconds).
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceInput {
  readonly options: ApmOptions
  readonly summaries: ReadonlyArray<OperationSummary>
  readonly now: number
}

/**
 * Insights computed outside `Apm` from what another module saw (the
 * database insights of `SqlMonitoring`). Synchronous and pure, like the
 * rules here.
 *
 * @category models
 * @since 0.1.0
 */
export type InsightSource = (input: SourceInput) => ReadonlyArray<Insight>

/**
 * The extra sources `Apm.insights` adds to its own rules, read when the
 * `Apm` layer is built: a layer that provides it (appending to what is
 * already there) must sit below `Apm`.
 *
 * @category references
 * @since 0.1.0
 */
export const InsightSources = Context.Reference<ReadonlyArray<InsightSource>>(
  "@mcp-apm/core/Insights/InsightSources",
  { defaultValue: () => [] }
)

/**
 * `own` with the insights of `sources` over the same summaries, most
 * severe first.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withSources = (
  own: Effect.Effect<ReadonlyArray<Insight>>,
  options: ApmOptions,
  summaries: Effect.Effect<ReadonlyArray<OperationSummary>>,
  sources: ReadonlyArray<InsightSource>
): Effect.Effect<ReadonlyArray<Insight>> =>
  Effect.gen(function*() {
    const input: SourceInput = { options, summaries: yield* summaries, now: yield* Clock.currentTimeMillis }
    return [...yield* own, ...sources.flatMap((source) => source(input))].sort(bySeverity)
  })
