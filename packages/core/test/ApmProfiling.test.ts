import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, References } from "effect"
import { TestClock } from "effect/testing"
import type { ApmConfig } from "../src/index.ts"
import { Apm, HttpNormalizer } from "../src/index.ts"
import { ApmRecorder, ApmTest, MetricSeries, TestProfiler } from "../src/testing/index.ts"
import * as Profiler from "../src/Profiler.ts"

const withProfiler = (overrides: Partial<ApmConfig.ApmOptions> = {}) =>
  TestProfiler.layer({ maxFiles: 2 }).pipe(Layer.provideMerge(ApmTest.layer(overrides)))

const spanNamed = (name: string) => Effect.map(ApmRecorder.spans, (spans) => spans.find((s) => s.name === name))

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
    lines.push(`${logLevel} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
  })
  return { lines, layer: Logger.layer([logger]) }
}

describe("Apm.profileCpu", () => {
  it.effect("profiles a sampled run and summarises it on the span", () =>
    Effect.gen(function*() {
      const result = yield* Effect.succeed(7).pipe(Apm.profileCpu(), Apm.trace("report", "custom_operation"))
      assert.strictEqual(result, 7)
      const span = yield* spanNamed("report")
      assert.strictEqual(span!.attributes["apm.profile.cpu.file"], "memory://1-report.cpuprofile")
      assert.deepStrictEqual(span!.attributes["apm.profile.cpu.top_functions"], [
        "report (memory://test:1:1) 0.0 ms 100.0%"
      ])
      assert.deepStrictEqual((yield* Profiler.Profiler.use((p) => p.stats)).recorded, { cpu: 1, heap: 0 })
    }).pipe(Effect.provide(withProfiler({ profilingSampleRate: 1 }))))

  it.effect("data-first form, explicit label, and failures pass through with their profile", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Apm.profileCpu(Effect.fail("boom"), { label: "failing" }).pipe(Apm.trace("op", "custom_operation"))
      )
      assert.strictEqual(error, "boom")
      assert.strictEqual((yield* spanNamed("op"))!.attributes["apm.profile.cpu.file"], "memory://1-failing.cpuprofile")
    }).pipe(Effect.provide(withProfiler({ profilingSampleRate: 1 }))))

  it.effect("does not profile with a switch off", () =>
    Effect.gen(function*() {
      for (
        const overrides of [{ profilingSampleRate: 1, profilingEnabled: false }, {
          profilingSampleRate: 1,
          cpuProfilingEnabled: false
        }]
      ) {
        const stats = yield* Effect.gen(function*() {
          yield* Effect.void.pipe(Apm.profileCpu(), Apm.trace("quiet", "custom_operation"))
          // an explicit rate does not override a switch
          yield* Effect.void.pipe(Apm.profileCpu({ sampleRate: 1 }), Apm.trace("quiet", "custom_operation"))
          return yield* Profiler.Profiler.use((p) => p.stats)
        }).pipe(Effect.provide(withProfiler(overrides)))
        assert.deepStrictEqual(stats.recorded, { cpu: 0, heap: 0 })
      }
    }))

  it.effect("does not profile at rate 0", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(Apm.profileCpu(), Apm.trace("quiet", "custom_operation"))
      assert.deepStrictEqual((yield* Profiler.Profiler.use((p) => p.stats)).recorded, { cpu: 0, heap: 0 })
    }).pipe(Effect.provide(withProfiler({ profilingSampleRate: 0 }))))

  it.effect("an overlapping request is skipped and counted, not queued", () =>
    Effect.gen(function*() {
      const inner = Effect.succeed(1).pipe(Apm.profileCpu({ label: "inner" }))
      const memory = Effect.succeed(2).pipe(Apm.profileMemory({ label: "inner-heap" }))
      const sum = yield* Effect.all([inner, memory]).pipe(Apm.profileCpu({ label: "outer" }))
      assert.deepStrictEqual(sum, [1, 2])
      const stats = yield* Profiler.Profiler.use((p) => p.stats)
      assert.deepStrictEqual(stats.recorded, { cpu: 1, heap: 0 })
      assert.deepStrictEqual(stats.skipped, { cpu: 1, heap: 1 })
      const skipped = yield* MetricSeries.state("apm_profiles_skipped_total", { kind: "cpu" })
      assert.strictEqual(skipped!["count"], 1)
    }).pipe(Effect.provide(withProfiler({ profilingSampleRate: 1, memorySampleRate: 1 }))))

  it.effect("a failing profiler is logged and never changes the effect", () =>
    Effect.gen(function*() {
      const failing = Layer.succeed(Profiler.Profiler, {
        startCpu: () => Effect.fail(new Profiler.ProfilerError({ kind: "cpu", message: "inspector gone" })),
        startHeap: () => Effect.fail(new Profiler.ProfilerError({ kind: "heap", message: "inspector gone" })),
        stats: Effect.die("unused")
      })
      const { lines, layer } = captureLogs()
      const value = yield* Effect.succeed("ok").pipe(Apm.profileCpu(), Effect.provide(failing), Effect.provide(layer))
      assert.strictEqual(value, "ok")
      assert.deepStrictEqual(lines, ["Warn profiler: cpu profile failed: inspector gone"])
    }).pipe(Effect.provide(ApmTest.layer({ profilingSampleRate: 1 }))))

  it.effect("profile files are bounded, oldest dropped", () =>
    Effect.gen(function*() {
      const profiler = TestProfiler.make({ maxFiles: 2 })
      for (const label of ["a", "b", "c"]) {
        const recording = yield* profiler.startCpu(label)
        yield* (recording._tag === "Some" ? recording.value.stop : Effect.die("skipped"))
      }
      assert.deepStrictEqual(profiler.files(), ["memory://2-b.cpuprofile", "memory://3-c.cpuprofile"])
      assert.strictEqual((yield* profiler.stats).filesRemoved, 1)
    }))
})

describe("Apm.profileMemory", () => {
  it.effect("records heap usage and top allocations on the span for a sampled run", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(Apm.profileMemory(), Apm.trace("alloc", "custom_operation"))
      const span = yield* spanNamed("alloc")
      assert.strictEqual(span!.attributes["apm.profile.heap.file"], "memory://1-alloc.heapprofile")
      assert.strictEqual(span!.attributes["apm.profile.heap.used_before_bytes"], 0)
      assert.deepStrictEqual(span!.attributes["apm.profile.heap.top_allocations"], [
        "alloc (memory://test:1:1) 0 B 100.0%"
      ])
    }).pipe(Effect.provide(withProfiler({ memorySampleRate: 1 }))))

  it.effect("memoryProfilingEnabled off turns it off", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(Apm.profileMemory(), Apm.trace("alloc", "custom_operation"))
      assert.isUndefined((yield* spanNamed("alloc"))!.attributes["apm.profile.heap.file"])
    }).pipe(Effect.provide(withProfiler({ memorySampleRate: 1, memoryProfilingEnabled: false }))))
})

describe("Apm.profileQuery", () => {
  it.effect("traces a query under its shape, with the normalised text and no value", () =>
    Effect.gen(function*() {
      const query = "SELECT * FROM users WHERE email = 'ada@example.com' AND id IN (1, 2, 3)"
      const rows = yield* Effect.succeed([{ id: 1 }]).pipe(Apm.profileQuery(query))
      assert.deepStrictEqual(rows, [{ id: 1 }])
      yield* Apm.profileQuery(Effect.void, "select * from users where email = 'bob@example.com' and id in (4)")
      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(records.map((r) => [r.operationName, r.operationType]), [
        ["SELECT users", "database_query"],
        ["SELECT users", "database_query"]
      ])
      assert.deepStrictEqual(records[0]!.attributes, {
        "db.system.name": "other_sql",
        "db.query.summary": "SELECT users",
        "db.query.text": "SELECT * FROM users WHERE email = ? AND id IN (?)",
        "db.operation.name": "SELECT",
        "db.collection.name": "users"
      })
      assert.notInclude(JSON.stringify(yield* ApmRecorder.spans), "example.com")
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("counts and logs queries slower than databaseQueryThreshold", () =>
    Effect.gen(function*() {
      const { lines, layer } = captureLogs()
      const run = (millis: number) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(
            Effect.sleep(millis).pipe(Apm.profileQuery("UPDATE accounts SET balance = 10 WHERE id = 7"))
          )
          yield* TestClock.adjust(millis)
          yield* Fiber.join(fiber)
        })
      yield* run(100).pipe(Effect.provide(layer))
      yield* run(600).pipe(Effect.provide(layer))
      const slow = yield* MetricSeries.state("apm_slow_queries_total", { db_operation_name: "UPDATE" })
      assert.strictEqual(slow!["count"], 1)
      assert.deepStrictEqual(lines, [
        "Warn slow query UPDATE accounts took 600.0 ms: UPDATE accounts SET balance = ? WHERE id = ?"
      ])
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("databaseMonitoringEnabled off leaves the query untraced", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Effect.succeed(1).pipe(Apm.profileQuery("SELECT 1")), 1)
      assert.deepStrictEqual(yield* ApmRecorder.operations, [])
    }).pipe(Effect.provide(ApmTest.layer({ databaseMonitoringEnabled: false }))))
})

describe("Apm.traceExternalApi", () => {
  it.effect("traces as external_api with a bounded name and the HTTP status", () =>
    Effect.gen(function*() {
      const response = { status: 503, body: "busy" }
      const got = yield* Effect.succeed(response).pipe(
        Apm.traceExternalApi("stripe", "POST https://api.stripe.com/v1/charges/ch_123456789?expand=x")
      )
      assert.strictEqual(got, response)
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.operationName, "stripe POST /v1/charges/:id")
      assert.strictEqual(record!.operationType, "external_api")
      const span = yield* spanNamed("stripe POST /v1/charges/:id")
      assert.strictEqual(span!.attributes["http.response.status_code"], 503)
      assert.strictEqual(span!.attributes["peer.service"], "stripe")
      // A typed error that carries a response records its status too.
      yield* Effect.flip(Apm.traceExternalApi(Effect.fail({ response: { status: 404 } }), "github", "/repos"))
      assert.strictEqual((yield* spanNamed("github /repos"))!.attributes["http.response.status_code"], 404)
      // A value without a status records none.
      yield* Apm.traceExternalApi(Effect.succeed("text"), "github", "/zen")
      assert.isUndefined((yield* spanNamed("github /zen"))!.attributes["http.response.status_code"])
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("slow past externalApiThreshold", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.sleep(2500).pipe(Apm.traceExternalApi("s3", "GET /bucket")))
      yield* TestClock.adjust(2500)
      yield* Fiber.join(fiber)
      assert.isTrue((yield* ApmRecorder.operations)[0]!.slow)
    }).pipe(Effect.provide(ApmTest.layer())))
})

describe("Apm one-call helpers", () => {
  it.effect("record what the caller timed, with bounded names", () =>
    Effect.gen(function*() {
      yield* Apm.traceHttpRequest("get", "https://shop.example/users/42/orders?page=2", 200, 0.2)
      yield* Apm.traceHttpRequest("BREW", "/pots/6f1c2e4a-8b9d-4c3e-a1b2-c3d4e5f60718", 503, 1.5)
      yield* Apm.traceDatabaseQuery("DELETE FROM carts WHERE user_id = 9", 0.7, false)
      yield* Apm.recordExternalApi("billing", "/invoices/2024-0001", 0.1, true)
      const records = yield* ApmRecorder.operations
      assert.deepStrictEqual(records.map((r) => [r.operationName, r.operationType, r.status, r.slow]), [
        ["GET /users/:id/orders", "http_request", "ok", false],
        ["_OTHER /pots/:uuid", "http_request", "error", true],
        ["DELETE carts", "database_query", "error", true],
        ["billing /invoices/:id", "external_api", "ok", false]
      ])
      assert.strictEqual(records[0]!.duration, 0.2)
      assert.strictEqual(records[0]!.attributes["http.response.status_code"], 200)
      assert.strictEqual(records[1]!.errorMessage, "HTTP 503")
      assert.strictEqual(records[2]!.attributes["db.query.text"], "DELETE FROM carts WHERE user_id = ?")
      const slow = yield* MetricSeries.state("apm_slow_queries_total", { db_operation_name: "DELETE" })
      assert.strictEqual(slow!["count"], 1)
    }).pipe(Effect.provide(ApmTest.layer()), Effect.provideService(References.MinimumLogLevel, "None")))

  it("normalizePath bounds paths", () => {
    const cases: ReadonlyArray<[string, string]> = [
      ["/users/42", "/users/:id"],
      ["users/42/", "/users/:id/"],
      ["https://a.example:8443/v1/items/507f1f77bcf86cd799439011#x", "/v1/items/:hash"],
      ["/files/report%20final.pdf", "/files/:value"],
      ["/u/ada@example.com", "/u/:value"],
      ["/api/v2/orders/ord-20240101-0001", "/api/v2/orders/:id"],
      ["/users/:id/{tab}", "/users/:id/{tab}"],
      ["", "/"],
      ["/a/b/c/d/e/f/g/h/i/j", "/a/b/c/d/e/f/g/h/…"]
    ]
    for (const [input, expected] of cases) assert.strictEqual(HttpNormalizer.normalizePath(input), expected, input)
    assert.isAtMost(HttpNormalizer.normalizePath("/" + "x".repeat(30) + "/".repeat(200)).length, 128)
  })
})
