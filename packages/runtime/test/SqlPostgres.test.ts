import { PgClient } from "@effect/sql-pg"
import { assert, layer } from "@effect/vitest"
import { Apm, SqlMonitoring } from "@mcp-apm/core"
import type { ApmConfig } from "@mcp-apm/core"
import { ApmRecorder, ApmTest, MetricSeries } from "@mcp-apm/core/testing"
import { Clock, Effect, Exit, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { SqlClient } from "effect/sql"
import * as EmbeddedPostgres from "../src/EmbeddedPostgres.ts"

// One real server for the file: initdb, start on 127.0.0.1 and a free port, stop at the end.
const Database = Layer.unwrap(
  Effect.map(
    EmbeddedPostgres.start,
    (pg) => PgClient.layer({ host: pg.host, port: pg.port, database: pg.database, username: pg.username })
  )
).pipe(Layer.orDie)

const monitored = (overrides: Partial<ApmConfig.ApmOptions> = {}) =>
  SqlMonitoring.layer.pipe(
    Layer.provideMerge(ApmTest.layer(overrides)),
    Layer.provideMerge(SqlMonitoring.layerPatterns()),
    Layer.orDie
  )

const setUp = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP TABLE IF EXISTS orders, users`
  yield* sql`CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL)`
  yield* sql`CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL, total numeric NOT NULL)`
  yield* sql`INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 12) g`
  yield* sql`INSERT INTO orders (user_id, total) SELECT g % 12 + 1, g FROM generate_series(0, 23) g`
})

const databaseOperations = Effect.map(
  ApmRecorder.operations,
  (ops) => ops.filter((o) => o.operationType === "database_query")
)

layer(Database, { timeout: 60_000 })("SqlMonitoring against a real PostgreSQL", (it) => {
  it.effect("every query through SqlClient becomes a database_query operation with the database conventions", () =>
    Effect.gen(function*() {
      yield* setUp
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ id: number; email: string }>`SELECT id, email FROM users WHERE id = ${3}`
      assert.deepStrictEqual(rows, [{ id: 3, email: "u3@example.com" }])
      const select = (yield* databaseOperations).find((o) => o.operationName === "SELECT users")!
      assert.isDefined(select)
      assert.strictEqual(select.status, "ok")
      assert.deepInclude(select.attributes, {
        "db.system.name": "postgresql",
        "db.namespace": "postgres",
        "server.address": "127.0.0.1",
        "db.operation.name": "SELECT",
        "db.collection.name": "users",
        "db.query.summary": "SELECT users",
        "db.query.text": "SELECT id, email FROM users WHERE id = $1"
      })
      const span = (yield* ApmRecorder.spans).find((s) => s.attributes["db.query.summary"] === "SELECT users")!
      // OpenTelemetry's database span name, {db.query.summary}, not effect/sql's (the database name)
      assert.strictEqual(span.name, "SELECT users")
      assert.strictEqual(span.kind, "client")
      assert.strictEqual(span.attributes["db.query.text"], "SELECT id, email FROM users WHERE id = $1")
      assert.strictEqual(span.attributes["apm.operation.type"], "database_query")
      const histogram = yield* MetricSeries.state("db_client_operation_duration_seconds", {
        "db.system.name": "postgresql",
        "db.operation.name": "SELECT",
        "db.collection.name": "users"
      })
      assert.strictEqual(histogram?.count, 1)
      // Setup ran DROP, two CREATEs and two INSERTs: each is an operation of its own.
      const names = new Set((yield* databaseOperations).map((o) => o.operationName))
      for (const name of ["CREATE users", "CREATE orders", "INSERT users", "INSERT orders"]) {
        assert.isTrue(names.has(name), name)
      }
    }).pipe(Effect.provide(monitored())))

  it.effect("no literal and no parameter value reaches an operation or a span", () =>
    Effect.gen(function*() {
      yield* setUp
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe("SELECT id FROM users WHERE email = 'u1@example.com' AND id > 0 /* by 'ada' */")
      yield* sql`SELECT id FROM users WHERE email = ${"u2@example.com"}`
      const texts = [
        ...(yield* databaseOperations).map((o) => JSON.stringify(o.attributes)),
        ...(yield* ApmRecorder.spans).map((s) => JSON.stringify(s.attributes))
      ]
      for (const text of texts) {
        assert.notInclude(text, "u1@example.com")
        assert.notInclude(text, "u2@example.com")
        assert.notInclude(text, "ada")
      }
      const shapes = (yield* databaseOperations).map((o) => o.attributes["db.query.text"])
      assert.include(shapes, "SELECT id FROM users WHERE email = ? AND id > ?")
      assert.include(shapes, "SELECT id FROM users WHERE email = $1")
    }).pipe(Effect.provide(monitored())))

  it.effect("an N+1 loop inside a traced operation is named: the parent, the query, the count", () =>
    Effect.gen(function*() {
      yield* setUp
      const sql = yield* SqlClient.SqlClient
      const listOrders = Effect.gen(function*() {
        const users = yield* sql<{ id: number }>`SELECT id FROM users ORDER BY id`
        for (const user of users) yield* sql`SELECT * FROM orders WHERE user_id = ${user.id}`
        return users.length
      }).pipe(Apm.trace("GET /users/orders", "http_request"))
      assert.strictEqual(yield* listOrders, 12)
      const insights = yield* SqlMonitoring.SqlMonitoring.use((m) => m.insights())
      const nPlusOne = insights.filter((i) => i.type === "n_plus_one_query")
      assert.strictEqual(nPlusOne.length, 1)
      assert.strictEqual(nPlusOne[0]!.operationName, "GET /users/orders")
      assert.strictEqual(nPlusOne[0]!.values.count, 12)
      assert.include(nPlusOne[0]!.message, "SELECT * FROM orders WHERE user_id = $1")
      const [finding] = (yield* SqlMonitoring.SqlMonitoring).patterns.nPlusOne()
      assert.deepInclude(finding, { parentName: "GET /users/orders", queryName: "SELECT orders", count: 12, runs: 1 })
      // The one query for the user list is no pattern.
      assert.isFalse(insights.some((i) => i.message.includes("ORDER BY")))
      // Apm.insights, the dashboard's and the demo's, says the same beside its own rules.
      const fromApm = (yield* Apm.insights).filter((i) => i.type === "n_plus_one_query")
      assert.deepStrictEqual(fromApm, nPlusOne)
    }).pipe(Effect.provide(monitored())))

  it.effect("a slow pg_sleep is counted, flagged slow, and its query is most of its operation's time", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const report = sql`SELECT pg_sleep(${0.06})`.pipe(Apm.trace("build_report", "business_transaction"))
      for (let i = 0; i < 3; i++) yield* report
      const slow = (yield* databaseOperations).filter((o) => o.operationName === "SELECT")
      assert.strictEqual(slow.length, 3)
      assert.isTrue(slow.every((o) => o.slow && o.duration >= 0.06))
      assert.strictEqual(yield* MetricSeries.value("apm_slow_queries_total", { db_operation_name: "SELECT" }), 3)
      const insights = yield* SqlMonitoring.SqlMonitoring.use((m) => m.insights())
      const dominant = insights.find((i) => i.type === "query_dominates_operation")!
      assert.strictEqual(dominant.operationName, "build_report")
      assert.include(dominant.message, "SELECT takes most of build_report")
    }).pipe(TestClock.withLive, Effect.provide(monitored({ databaseQueryThreshold: 0.05, insightMinOperations: 3 }))))

  it.effect("a query that got slower after a given moment is named against its runs before it", () =>
    Effect.gen(function*() {
      yield* setUp
      const sql = yield* SqlClient.SqlClient
      const lookup = (pause: number) => sql`SELECT pg_sleep(${pause}), email FROM users WHERE id = ${1}`
      for (let i = 0; i < 5; i++) yield* lookup(0)
      // The moment from the clock the spans are timed by, with a gap either side of it.
      yield* Effect.sleep(10)
      const since = yield* Clock.currentTimeMillis
      yield* Effect.sleep(10)
      for (let i = 0; i < 5; i++) yield* lookup(0.05)
      const insights = yield* SqlMonitoring.SqlMonitoring.use((m) => m.insights({ since }))
      const regression = insights.find((i) => i.type === "query_regression")!
      assert.strictEqual(regression.operationName, "SELECT users")
      assert.strictEqual(regression.values.since, since)
      assert.strictEqual(regression.values.before, 5)
      assert.strictEqual(regression.values.after, 5)
      assert.isAtLeast(regression.values.recentP95!, 0.05)
      // Measured from the start, every run is "after": no baseline, no claim.
      const fromStart = yield* SqlMonitoring.SqlMonitoring.use((m) => m.insights({ since: 0 }))
      assert.isFalse(fromStart.some((i) => i.type === "query_regression"))
    }).pipe(TestClock.withLive, Effect.provide(monitored({ anomalyWindowSize: 5 }))))

  it.effect("baselines and anomaly detection cover queries like every operation", () =>
    Effect.gen(function*() {
      yield* setUp
      const sql = yield* SqlClient.SqlClient
      for (let i = 0; i < 5; i++) yield* sql`SELECT total FROM orders WHERE id = ${i + 1}`
      const baseline = (yield* Apm.baselines).find((b) => b.operationName === "SELECT orders")
      assert.isDefined(baseline)
      assert.strictEqual(baseline!.sampleCount, 5)
      assert.isTrue(Option.isSome(yield* Apm.summary("SELECT orders")))
    }).pipe(Effect.provide(monitored({ baselineMinSamples: 5 }))))

  it.effect("a failing query fails the same way, and is recorded as an error", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const missing = sql`SELECT * FROM no_such_table`
      const exit = yield* Effect.exit(missing)
      assert.isTrue(Exit.isFailure(exit))
      const [operation] = (yield* databaseOperations).filter((o) => o.operationName === "SELECT no_such_table")
      assert.strictEqual(operation!.status, "error")
      assert.strictEqual(operation!.errorType, "SqlError")
      const histogram = yield* MetricSeries.state("db_client_operation_duration_seconds", {
        "db.collection.name": "no_such_table",
        "error.type": "SqlError"
      })
      assert.strictEqual(histogram?.count, 1)
    }).pipe(Effect.provide(monitored())))

  it.effect("databaseMonitoringEnabled: false leaves queries and their spans as they are", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe("SELECT 'kept' AS word")
      assert.deepStrictEqual(yield* databaseOperations, [])
      const span = (yield* ApmRecorder.spans).find((s) => s.attributes["db.system.name"] === "postgresql")!
      assert.strictEqual(span.name, "postgres")
      assert.strictEqual(span.attributes["db.query.text"], "SELECT 'kept' AS word")
      assert.isUndefined(span.attributes["db.query.summary"])
    }).pipe(Effect.provide(monitored({ databaseMonitoringEnabled: false }))))
})
