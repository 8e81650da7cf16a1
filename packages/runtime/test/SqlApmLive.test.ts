import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Apm, SqlMonitoring } from "@mcp-apm/core"
import type { Insights } from "@mcp-apm/core"
import { Effect, Layer, Metric } from "effect"
import { SqlClient } from "effect/sql"
import * as EmbeddedPostgres from "../src/EmbeddedPostgres.ts"
import { baseUrl, liveStack } from "./support/live.ts"

const Database = Layer.unwrap(
  Effect.map(
    EmbeddedPostgres.start,
    (pg) => PgClient.layer({ host: pg.host, port: pg.port, database: pg.database, username: pg.username })
  )
).pipe(Layer.orDie)

describe("ApmLive with effect/sql", () => {
  it.live(
    "every query is an operation with no code: summary, /metrics, the db.client.operation.duration histogram, N+1 insights",
    () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        for (let id = 1; id <= 3; id++) yield* sql`SELECT ${id}::int AS id`
        const summary = (yield* Apm.summaries).find((s) => s.operationName === "SELECT")!
        assert.strictEqual(summary.operationType, "database_query")
        assert.strictEqual(summary.totalOperations, 3)
        const url = yield* baseUrl
        const text = yield* Effect.promise(async () => (await fetch(`${url}/metrics`)).text())
        assert.include(text, `apm_operations_total{operation_name="SELECT",operation_type="database_query"} 3`)
        assert.match(text, /db_client_operation_duration_seconds_count\{[^}]*db_operation_name="SELECT"[^}]*\} 3/)
        assert.deepStrictEqual(yield* SqlMonitoring.SqlMonitoring.use((m) => m.insights()), [])
        // An N+1 loop: the dashboard's insights (Apm.insights) name it, with no code beyond ApmLive.
        const loop = Effect.forEach([1, 2, 3, 4, 5, 6], (id) => sql`SELECT ${id}::int AS id`, { discard: true })
        yield* loop.pipe(Apm.trace("load_team", "business_transaction"))
        const api = yield* Effect.promise(async () =>
          (await fetch(`${url}/api/apm`)).json() as Promise<{ insights: ReadonlyArray<Insights.Insight> }>
        )
        const nPlusOne = api.insights.find((i) => i.type === "n_plus_one_query")!
        assert.strictEqual(nPlusOne.operationName, "load_team")
        assert.strictEqual(nPlusOne.values.count, 6)
        assert.include(nPlusOne.message, "SELECT $1::int AS id")
      }).pipe(
        Effect.provide(Layer.merge(liveStack("sql-apm-live"), Database)),
        Effect.provideService(Metric.MetricRegistry, new Map())
      ),
    {
      timeout: 60_000
    }
  )
})
