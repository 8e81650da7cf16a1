import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { OperationSummary } from "../src/index.ts"
import { Apm, ApmConfig, Insights, QueryPatterns, SqlMonitoring } from "../src/index.ts"
import { ApmTest } from "../src/testing/index.ts"
import { summary as healthy } from "./support/records.ts"

const options = Effect.runSync(ApmConfig.make({ insightMinOperations: 3, anomalyWindowSize: 4 }))

const summary = (overrides: Partial<OperationSummary.OperationSummary>) =>
  healthy({ totalOperations: 10, successCount: 10, ...overrides })

const insightsOf = (
  patterns: QueryPatterns.QueryPatterns,
  summaries: ReadonlyArray<OperationSummary.OperationSummary>,
  since = 0
) => SqlMonitoring.databaseInsights(patterns, { now: since, options, summaries }, since)

const text = "SELECT * FROM orders WHERE user_id = $1"

describe("QueryPatterns", () => {
  it("a query repeated up to the threshold in one parent run is an N+1 pattern; below it, none", () => {
    const patterns = new QueryPatterns.QueryPatterns({ nPlusOneThreshold: 5 })
    for (let i = 0; i < 4; i++) patterns.query("a", "SELECT orders", text, i, 0.001)
    patterns.parentEnded("a", "GET /users", 10)
    assert.deepStrictEqual(patterns.nPlusOne(), [])
    for (let i = 0; i < 9; i++) patterns.query("b", "SELECT orders", text, i, 0.001)
    patterns.parentEnded("b", "GET /users", 20)
    for (let i = 0; i < 6; i++) patterns.query("c", "SELECT orders", text, i, 0.001)
    patterns.parentEnded("c", "GET /users", 30)
    assert.deepStrictEqual(patterns.nPlusOne(), [
      { parentName: "GET /users", queryName: "SELECT orders", queryText: text, count: 9, runs: 2, lastSeen: 30 }
    ])
    assert.deepStrictEqual(patterns.parentsOf("SELECT orders"), ["GET /users"])
    assert.isFalse(patterns.isOpen("c"))
  })

  it("stays bounded: open parents, distinct queries per parent, findings, histories and samples", () => {
    const patterns = new QueryPatterns.QueryPatterns({
      nPlusOneThreshold: 2,
      maxOpenParents: 3,
      maxQueriesPerParent: 2,
      maxFindings: 2,
      maxQueries: 2,
      samplesPerQuery: 3
    })
    for (let p = 0; p < 5; p++) patterns.query(`p${p}`, "SELECT t", "SELECT t", p, 0.001)
    assert.strictEqual(patterns.dropped, 2)
    assert.isTrue(patterns.isOpen("p2"))
    assert.isFalse(patterns.isOpen("p3"))
    for (let q = 0; q < 5; q++) {
      for (let k = 0; k < 2; k++) patterns.query("p0", `SELECT q${q}`, `SELECT q${q}`, q, 0.001)
    }
    patterns.parentEnded("p0", "parent", 1)
    // p0 already counted SELECT t, so of the five new queries only the first fits its two distinct ones.
    assert.deepStrictEqual(patterns.nPlusOne().map((f) => [f.queryName, f.count]), [["SELECT q0", 2]])
    for (let f = 0; f < 4; f++) {
      patterns.query(`f${f}`, "SELECT x", "SELECT x", 0, 0.001)
      patterns.query(`f${f}`, "SELECT x", "SELECT x", 0, 0.001)
      patterns.parentEnded(`f${f}`, `parent ${f}`, f)
    }
    assert.deepStrictEqual(patterns.nPlusOne().map((f) => f.parentName), ["parent 2", "parent 3"])
    // Histories: the two queries seen most recently, each with its last three samples, oldest first.
    assert.deepStrictEqual(patterns.samples("SELECT t"), [])
    for (let i = 0; i < 5; i++) patterns.query(undefined, "SELECT x", "SELECT x", 100 + i, i)
    assert.deepStrictEqual(patterns.samples("SELECT x").map((s) => [s.endMillis, s.duration]), [[102, 2], [103, 3], [
      104,
      4
    ]])
  })
})

describe("Insights from database queries", () => {
  it("names the parent operation, the query and the count of an N+1 pattern", () => {
    const patterns = new QueryPatterns.QueryPatterns()
    for (let i = 0; i < 25; i++) patterns.query("run", "SELECT orders", text, i, 0.001)
    patterns.parentEnded("run", "GET /users/:id/orders", 30)
    const [insight] = insightsOf(patterns, [])
    assert.strictEqual(insight!.type, "n_plus_one_query")
    assert.strictEqual(insight!.severity, "ERROR")
    assert.strictEqual(insight!.operationName, "GET /users/:id/orders")
    assert.strictEqual(insight!.values.count, 25)
    assert.include(insight!.message, text)
  })

  it("a query whose p95 is most of its parent operation's p95 dominates it; a small one does not", () => {
    const patterns = new QueryPatterns.QueryPatterns()
    patterns.query("run", "SELECT report", "SELECT * FROM report", 0, 0.09)
    patterns.query("run", "SELECT users", "SELECT * FROM users", 0, 0.001)
    patterns.parentEnded("run", "build_report", 1)
    const summaries = [
      summary({ operationName: "build_report", p95Duration: 0.1 }),
      summary({ operationName: "SELECT report", operationType: "database_query", p95Duration: 0.09 }),
      summary({ operationName: "SELECT users", operationType: "database_query", p95Duration: 0.001 })
    ]
    const dominant = insightsOf(patterns, summaries).filter((i) => i.type === "query_dominates_operation")
    assert.deepStrictEqual(dominant.map((i) => [i.operationName, i.values.share]), [["build_report", 0.09 / 0.1]])
    // Too few runs of the parent to say.
    const few = [summaries[0]!, { ...summaries[1]!, totalOperations: 2 }]
    assert.deepStrictEqual(insightsOf(patterns, few).filter((i) => i.type === "query_dominates_operation"), [])
  })

  it("a query slower after the given moment than before it is a regression; the same speed is none", () => {
    const patterns = new QueryPatterns.QueryPatterns()
    for (let i = 0; i < 4; i++) patterns.query(undefined, "SELECT users", "SELECT * FROM users", 1000 + i, 0.01)
    for (let i = 0; i < 4; i++) patterns.query(undefined, "SELECT users", "SELECT * FROM users", 2000 + i, 0.035)
    const summaries = [summary({ operationName: "SELECT users", operationType: "database_query" })]
    const [regression] = insightsOf(patterns, summaries, 2000)
    assert.strictEqual(regression!.type, "query_regression")
    assert.strictEqual(regression!.severity, "ERROR")
    assert.deepInclude(regression!.values, { since: 2000, baselineP95: 0.01, recentP95: 0.035, before: 4, after: 4 })
    assert.include(regression!.message, new Date(2000).toISOString())
    // Split where nothing changed: no claim.
    assert.deepStrictEqual(insightsOf(patterns, summaries, 1002), [])
  })
})

describe("Insights.InsightSources", () => {
  it.effect("Apm.insights adds what each source finds over the same summaries, most severe first", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.void, "checkout", "business_transaction")
      const insights = yield* Apm.insights
      assert.deepStrictEqual(insights.map((i) => [i.severity, i.message]), [
        ["ERROR", "error: 1 operations"],
        ["INFO", "info: checkout"]
      ])
    }).pipe(Effect.provide(
      ApmTest.layer().pipe(
        Layer.provide(Layer.succeed(Insights.InsightSources, [
          ({ summaries }) => [{
            type: "slow_operation",
            severity: "INFO",
            message: `info: ${summaries.map((s) => s.operationName).join()}`,
            recommendation: "none",
            values: {}
          }],
          ({ summaries }) => [{
            type: "slow_operation",
            severity: "ERROR",
            message: `error: ${summaries.length} operations`,
            recommendation: "none",
            values: {}
          }]
        ]))
      )
    )))

  it.effect("SqlMonitoring.layerPatterns below Apm puts the database insights into Apm.insights", () =>
    Effect.gen(function*() {
      const patterns = yield* SqlMonitoring.Patterns
      for (let i = 0; i < 6; i++) patterns.query("parent-1", "SELECT orders", text, i, 0.001)
      patterns.parentEnded("parent-1", "GET /orders", 10)
      const [nPlusOne] = yield* Apm.insights
      assert.strictEqual(nPlusOne!.type, "n_plus_one_query")
      assert.strictEqual(nPlusOne!.operationName, "GET /orders")
      assert.strictEqual(nPlusOne!.values.count, 6)
    }).pipe(Effect.provide(ApmTest.layer().pipe(Layer.provideMerge(SqlMonitoring.layerPatterns())))))
})
