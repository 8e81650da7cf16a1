/**
 * The database conventions shared by `Apm.profileQuery` (queries
 * the user names) and `SqlMonitoring` (queries effect/sql runs): the
 * attributes of a query, the `db.client.operation.duration` histogram and
 * the slow-query counter, for effects and for span callbacks alike.
 *
 * @since 0.1.0
 */
import { Context, Effect, Metric } from "effect"
import { CappedLabel } from "../CappedLabel.ts"
import * as ErrorType from "../ErrorType.ts"
import type { Attributes } from "../PerformanceMetrics.ts"
import type { QueryShape } from "../QueryNormalizer.ts"

const definitions = {
  slowQueries: {
    name: "apm_slow_queries_total",
    description: "Database queries slower than the database query threshold, by statement kind"
  },
  dbOperationDuration: {
    name: "db_client_operation_duration_seconds",
    description:
      "Duration of database client operations in seconds (OpenTelemetry db.client.operation.duration, unit s), by db.system.name, db.operation.name, db.collection.name and, on failure, error.type"
  }
} as const

/** The buckets of `db.client.operation.duration`, in seconds, as the OpenTelemetry database conventions give them. */
const durationBuckets: ReadonlyArray<number> = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]

const defaultSystem = "other_sql"

const slowQueries = Metric.counter(definitions.slowQueries.name, {
  description: definitions.slowQueries.description,
  incremental: true
})

const dbOperationDuration = Metric.histogram(definitions.dbOperationDuration.name, {
  description: definitions.dbOperationDuration.description,
  boundaries: durationBuckets
})

// Table names come from the query text: bounded like operation names, so that a generated table name cannot
// grow the histogram's series.
const collections = new CappedLabel(100, ErrorType.other)

/** A `db.system.name` fit for a label: as given when it reads like one, else `other_sql`. */
export const systemOf = (system: string | undefined): string => {
  const name = system?.trim().toLowerCase()
  return name === undefined || !/^[a-z][a-z0-9_.]{0,31}$/.test(name) ? defaultSystem : name
}

export const queryAttributes = (query: QueryShape, system: string): Attributes => {
  const attributes: Record<string, string> = {
    "db.system.name": system,
    "db.query.summary": query.operationName,
    "db.query.text": query.text,
    "db.operation.name": query.statement
  }
  if (query.table !== undefined) attributes["db.collection.name"] = query.table
  return attributes
}

/** The `db.client.operation.duration` series of a query; `errorType` on failure. */
export const durationMetric = (query: QueryShape, system: string, errorType: string | undefined) => {
  const attributes: Record<string, string> = { "db.system.name": system, "db.operation.name": query.statement }
  if (query.table !== undefined) attributes["db.collection.name"] = collections.bound(query.table)
  if (errorType !== undefined) attributes["error.type"] = errorType
  return Metric.withAttributes(dbOperationDuration, attributes)
}

const slowMetric = (query: QueryShape) => Metric.withAttributes(slowQueries, { db_operation_name: query.statement })

export const slowQueryMessage = (query: QueryShape, duration: number) =>
  `slow query ${query.operationName} took ${(duration * 1000).toFixed(1)} ms: ${query.text}`

/** Records one operation into `db.client.operation.duration`. */
export const recordDuration = (query: QueryShape, system: string, seconds: number, errorType: string | undefined) =>
  Metric.update(durationMetric(query, system, errorType), seconds)

/** Counts and logs a query slower than `databaseQueryThreshold`. */
export const slowQuery = (query: QueryShape, duration: number) =>
  Effect.andThen(Metric.update(slowMetric(query), 1), Effect.logWarning(slowQueryMessage(query, duration)))

/** `recordDuration` for callers that are not effects, against the metric registry of `context`. */
export const recordDurationUnsafe = (
  query: QueryShape,
  system: string,
  seconds: number,
  errorType: string | undefined,
  context: Context.Context<never>
): void => durationMetric(query, system, errorType).updateUnsafe(seconds, context)

/** Counts a slow query against the metric registry of `context`; the caller logs it. */
export const countSlowUnsafe = (query: QueryShape, context: Context.Context<never>): void =>
  slowMetric(query).updateUnsafe(1, context)
