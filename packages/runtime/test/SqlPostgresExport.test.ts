import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { NodeHttpServer } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Apm, ApmConfig, SpanOperations, SqlMonitoring } from "@mcp-apm/core"
import type { PerformanceMetrics } from "@mcp-apm/core"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Metric } from "effect"
import { HttpClient, HttpRouter, HttpServerResponse } from "effect/http"
import { SqlClient } from "effect/sql"
import * as EmbeddedPostgres from "../src/EmbeddedPostgres.ts"

const exported = new InMemorySpanExporter()
const records: Array<PerformanceMetrics.PerformanceMetrics> = []

const Database = Layer.unwrap(
  Effect.map(
    EmbeddedPostgres.start,
    (pg) => PgClient.layer({ host: pg.host, port: pg.port, database: pg.database, username: pg.username })
  )
).pipe(Layer.orDie)

// An app with no Apm code: a route that loads a user's orders one by one.
const App = HttpRouter.add(
  "GET",
  "/teams/:id/orders",
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const members = yield* sql<{ id: number }>`SELECT id FROM members WHERE team = ${1} ORDER BY id`
    for (const member of members) yield* sql`SELECT total FROM orders WHERE member_id = ${member.id}`
    return HttpServerResponse.text(String(members.length))
  }).pipe(Effect.orDie)
)

const apm = Apm.layerWithoutResources.pipe(
  Layer.provide(ApmConfig.ApmConfig.layer({})),
  Layer.provide(Layer.succeed(Apm.OperationListeners, [(record) => void records.push(record)])),
  Layer.provide(Layer.succeed(Metric.MetricRegistry, new Map())),
  Layer.provideMerge(SqlMonitoring.layerPatterns())
)
// As ApmLive wires it: SqlMonitoring over the span bridge (here selecting every span) over the OpenTelemetry tracer.
const tracing = SqlMonitoring.layer.pipe(
  Layer.provideMerge(SpanOperations.layerSelection(SpanOperations.parse("all")!)),
  Layer.provideMerge(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exported) }))),
  Layer.provideMerge(apm)
)
const server = HttpRouter.serve(App, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provideMerge(Database),
  Layer.provideMerge(tracing)
)

describe("SqlMonitoring over OpenTelemetry and effect/http, against a real PostgreSQL", () => {
  it.live(
    "exported spans carry the normalised query; an N+1 in a route is named by the route",
    () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE members (id int PRIMARY KEY, team int NOT NULL)`
        yield* sql`CREATE TABLE orders (member_id int NOT NULL, total numeric NOT NULL)`
        yield* sql`INSERT INTO members SELECT g, 1 FROM generate_series(1, 7) g`
        yield* sql.unsafe("INSERT INTO orders SELECT g % 7 + 1, 10 FROM generate_series(0, 13) g WHERE 'x' <> 'secret'")
        records.length = 0
        exported.reset()

        const response = yield* (yield* HttpClient.HttpClient).get("/teams/1/orders")
        assert.strictEqual(yield* response.text, "7")

        const queries = exported.getFinishedSpans().filter((s) => s.attributes["db.system.name"] === "postgresql")
        assert.strictEqual(queries.length, 8)
        for (const span of queries) assert.strictEqual(span.kind, 2 /* SpanKind.CLIENT */)
        assert.deepStrictEqual(
          [...new Set(queries.map((s) => s.attributes["db.query.text"]))],
          ["SELECT id FROM members WHERE team = $1 ORDER BY id", "SELECT total FROM orders WHERE member_id = $1"]
        )
        assert.strictEqual(queries[1]!.attributes["db.query.summary"], "SELECT orders")
        // named as OpenTelemetry's database conventions say: {db.query.summary}
        assert.deepStrictEqual(queries.map((s) => s.name), [
          "SELECT members",
          ...Array.from({ length: 7 }, () => "SELECT orders")
        ])
        assert.strictEqual(queries[1]!.attributes["db.collection.name"], "orders")

        // Each query is one operation: the span bridge, which selects every span, does not count it again.
        const database = records.filter((r) => r.operationType === "database_query")
        assert.deepStrictEqual(
          database.map((r) => r.operationName),
          ["SELECT members", ...Array.from({ length: 7 }, () => "SELECT orders")]
        )
        assert.isTrue(records.some((r) => r.operationName === "GET /teams/:id/orders"))

        const insights = yield* SqlMonitoring.SqlMonitoring.use((m) => m.insights())
        const nPlusOne = insights.find((i) => i.type === "n_plus_one_query")!
        assert.strictEqual(nPlusOne.operationName, "GET /teams/:id/orders")
        assert.strictEqual(nPlusOne.values.count, 7)
      }).pipe(Effect.provide(server)),
    { timeout: 60_000 }
  )
})
