import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Apm, SqlMonitoring } from "@mcp-apm/core"
import { Effect, Layer, Metric } from "effect"
import { SqlClient } from "effect/sql"
import * as EmbeddedPostgres from "../src/EmbeddedPostgres.ts"
import { baseUrl, liveStack } from "./support/live.ts"

const Database = Layer.unwrap(Effect.map(EmbeddedPostgres.start, (pg) =>
  PgClient.layer({ host: pg.host, port: pg.port, database: pg.database, username: pg.username }))).pipe(Layer.orDie)

describe("ApmLive with effect/sql", () => {
  it.live("every query is an operation with no code: summary, /metrics and the db.client.operation.duration histogram", () =>
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
    }).pipe(Effect.provide(Layer.merge(liveStack("sql-apm-live"), Database)), Effect.provideService(Metric.MetricRegistry, new Map())), {
      timeout: 60_000
    })
})
