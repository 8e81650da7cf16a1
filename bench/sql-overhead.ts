/**
 * The cost per query of database monitoring: `SELECT 1` through
 * `@effect/sql-pg` against a real PostgreSQL on 127.0.0.1 (started here as
 * the tests start it), with Effect's own tracer (effect/sql opens its span
 * either way) and with `SqlMonitoring` over it, recording every statement as
 * an operation. Median µs/query over rounds in one process, the two variants
 * run query by query in turn; the target is under 5% of the untraced round
 * trip.
 */
import { PgClient } from "@effect/sql-pg"
import { Apm, ApmConfig, QueryPatterns, SqlMonitoring } from "@mcp-apm/core"
import { Effect, Layer, Metric, Tracer } from "effect"
import { SqlClient } from "effect/sql"
import { median } from "simple-statistics"
import { cpuMicrosOf } from "./cpuTime.ts"
import { EmbeddedPostgres } from "@mcp-apm/runtime"

const queries = 2_000
const rounds = 11

const Database = Layer.unwrap(
  Effect.map(
    EmbeddedPostgres.start,
    (pg) => PgClient.layer({ host: pg.host, port: pg.port, database: pg.database, username: pg.username })
  )
)

/** µs/query of each variant over one round, query by query in turn, so that drift in the machine's load hits both alike. */
const timeRound = (variants: readonly [Effect.Effect<unknown, unknown>, Effect.Effect<unknown, unknown>]) =>
  Effect.gen(function*() {
    const totals = [0n, 0n]
    for (let i = 0; i < queries; i++) {
      for (let k = 0; k < 2; k++) {
        const v = (i + k) % 2
        const start = process.hrtime.bigint()
        yield* variants[v]!
        totals[v]! += process.hrtime.bigint() - start
      }
    }
    return [Number(totals[0]!) / queries / 1000, Number(totals[1]!) / queries / 1000] as const
  })

/**
 * CPU µs/query of this process for one variant over a block of queries: what monitoring adds to the application,
 * free of the wall-clock noise of a shared machine (the server's time is not counted, on either side).
 */
const cpuOfBlock = (variant: Effect.Effect<unknown, unknown>) =>
  Effect.map(
    cpuMicrosOf(Effect.gen(function*() {
      for (let i = 0; i < queries; i++) yield* variant
    })),
    (micros) => micros / queries
  )

export const sqlOverhead = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const apm = yield* Apm.Apm
  const context = yield* Effect.context<never>()
  const monitored = SqlMonitoring.make(Tracer.nativeTracer, apm, new QueryPatterns.QueryPatterns(), context)
  const select = sql`SELECT 1`
  const variants = [Effect.withTracer(select, Tracer.nativeTracer), Effect.withTracer(select, monitored)] as const
  yield* timeRound(variants)
  const samples: Array<readonly [number, number]> = []
  for (let round = 0; round < rounds; round++) samples.push(yield* timeRound(variants))
  const cpu: Array<readonly [number, number]> = []
  for (let round = 0; round < rounds; round++) {
    // The order alternates round by round, so that neither block always runs warmer.
    const first = yield* cpuOfBlock(variants[round % 2]!)
    const second = yield* cpuOfBlock(variants[(round + 1) % 2]!)
    cpu.push(round % 2 === 0 ? [first, second] : [second, first])
  }
  const untraced = median(samples.map((s) => s[0]))
  const cpuAdded = median(cpu.map((c) => c[1] - c[0]))
  return {
    cpuUntraced: median(cpu.map((c) => c[0])),
    cpuTraced: median(cpu.map((c) => c[1])),
    cpuAdded,
    cpuShare: cpuAdded / untraced,
    untraced,
    traced: median(samples.map((s) => s[1])),
    perQuery: median(samples.map((s) => s[1] - s[0])),
    ratio: median(samples.map((s) => s[1] / s[0]))
  }
}).pipe(
  Effect.provide(Database),
  Effect.provide(Apm.layerWithoutResources.pipe(Layer.provide(ApmConfig.ApmConfig.layer({})))),
  Effect.provideService(Metric.MetricRegistry, new Map())
)

export const printSqlOverhead = (r: Effect.Success<typeof sqlOverhead>) => {
  console.log(
    "sql-overhead (median µs/query of %d rounds of %d SELECT 1 per variant, interleaved, on localhost PostgreSQL)",
    rounds,
    queries
  )
  console.log("  (a) effect/sql, Effect's tracer      %s µs", r.untraced.toFixed(1))
  console.log("  (b) with SqlMonitoring recording     %s µs", r.traced.toFixed(1))
  console.log(
    "  b - a = %s µs per query, b/a = %s (target < 1.05)",
    r.perQuery.toFixed(2),
    r.ratio.toFixed(3)
  )
  console.log(
    "  CPU of this process: %s µs/query untraced, %s µs with monitoring: %s µs added, %s%% of the untraced round trip (target < 5%%)",
    r.cpuUntraced.toFixed(1),
    r.cpuTraced.toFixed(1),
    r.cpuAdded.toFixed(2),
    (100 * r.cpuShare).toFixed(1)
  )
}

if (import.meta.main) printSqlOverhead(await Effect.runPromise(sqlOverhead))
