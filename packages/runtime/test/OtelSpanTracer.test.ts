import { assert, describe, it } from "@effect/vitest"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { Apm, ApmConfig, PerformanceMetrics } from "@mcp-apm/core"
import * as Otel from "@opentelemetry/api"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { Effect, Fiber, Layer, Metric } from "effect"
import * as OtelSpanTracer from "../src/OtelSpanTracer.ts"
import { registeredProvider } from "./support/registeredProvider.ts"

/**
 * A registered provider (the AsyncLocalStorage context manager that
 * non-Effect instrumentation reads, as an SDK installs it), exporting to
 * memory, with ApmLive's tracer and `Apm` over it; the records as listeners
 * see them.
 */
const setup = Effect.gen(function*() {
  const exporter = new InMemorySpanExporter()
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  yield* registeredProvider(provider)
  const records: Array<PerformanceMetrics.PerformanceMetrics> = []
  const services = yield* Layer.build(
    OtelSpanTracer.layer.pipe(
      Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, provider)),
      Layer.merge(Apm.layerWithoutResources.pipe(Layer.provide(ApmConfig.ApmConfig.layer({})))),
      Layer.provide(Layer.succeed(Apm.OperationListeners, [(record) => void records.push(record)]))
    )
  )
  const run = <A, E>(effect: Effect.Effect<A, E, Apm.Apm>) => Effect.provideContext(effect, services)
  const spans = () => exporter.getFinishedSpans()
  const span = (name: string): ReadableSpan => {
    const found = spans().find((s) => s.name === name)
    assert.isDefined(found, `no span named ${name} among ${spans().map((s) => s.name)}`)
    return found!
  }
  return { run, spans, span, records }
})

const activeSpanId = () => Otel.trace.getActiveSpan()?.spanContext().spanId

describe("OtelSpanTracer", () => {
  it.live("non-Effect code in Effect.sync and Effect.promise sees the traced operation's span as the active one", () =>
    Effect.gen(function*() {
      const { run, span } = yield* setup
      const seen = yield* run(
        Effect.gen(function*() {
          const inSync = yield* Effect.sync(activeSpanId)
          const inPromise = yield* Effect.promise(() => Promise.resolve().then(activeSpanId))
          const afterSleep = yield* Effect.andThen(Effect.sleep(1), Effect.sync(activeSpanId))
          const nested = yield* Apm.trace(Effect.sync(activeSpanId), "lookup_user", "database_query")
          const current = yield* Effect.currentSpan
          return { inSync, inPromise, afterSleep, nested, current: current.spanId }
        }).pipe(Apm.trace("checkout", "business_transaction"))
      )
      const checkout = span("checkout").spanContext().spanId
      assert.strictEqual(seen.current, checkout)
      assert.strictEqual(seen.inSync, checkout)
      assert.strictEqual(seen.inPromise, checkout)
      assert.strictEqual(seen.afterSleep, checkout)
      assert.strictEqual(seen.nested, span("lookup_user").spanContext().spanId)
      // nothing is left active once the operation is over
      assert.isUndefined(activeSpanId())
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("parents: Effect's own, a non-Effect span active where a root starts, an external one, none for root", () =>
    Effect.gen(function*() {
      const { run, span } = yield* setup
      yield* run(Apm.trace(Effect.withSpan(Effect.void, "inner_step"), "checkout", "business_transaction"))
      assert.strictEqual(span("inner_step").parentSpanContext?.spanId, span("checkout").spanContext().spanId)
      assert.strictEqual(span("inner_step").spanContext().traceId, span("checkout").spanContext().traceId)
      assert.isUndefined(span("checkout").parentSpanContext)

      // an incoming request's span, started by non-Effect instrumentation, around a program it runs
      const tracer = Otel.trace.getTracer("http-instrumentation")
      const request = yield* Effect.promise(() =>
        tracer.startActiveSpan("GET /users", async (server) => {
          await Effect.runPromise(run(Apm.trace(Effect.void, "list_users", "http_request")))
          server.end()
          return server.spanContext()
        })
      )
      assert.strictEqual(span("list_users").parentSpanContext?.spanId, request.spanId)
      assert.strictEqual(span("list_users").spanContext().traceId, request.traceId)

      const remote = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: 1 }
      yield* run(Apm.trace(Effect.void, "from_remote", "custom_operation").pipe(OtelTracer.withSpanContext(remote)))
      assert.strictEqual(span("from_remote").spanContext().traceId, remote.traceId)
      assert.strictEqual(span("from_remote").parentSpanContext?.spanId, remote.spanId)

      // a program run from inside a step (its own fiber, with no Effect parent) does not inherit the step's span
      yield* run(
        Effect.sync(() => Effect.runSync(run(Effect.withSpan(Effect.void, "reentered")))).pipe(
          Effect.withSpan("stepping")
        )
      )
      assert.isUndefined(span("reentered").parentSpanContext)

      yield* run(Effect.withSpan(Effect.withSpan(Effect.void, "fresh", { root: true }), "outer"))
      assert.isUndefined(span("fresh").parentSpanContext)
      assert.notStrictEqual(span("fresh").spanContext().traceId, span("outer").spanContext().traceId)
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("every attribute, the kind, status, exception and error.type reach the exported span", () =>
    Effect.gen(function*() {
      const { run, span } = yield* setup
      yield* run(Apm.trace(Effect.void, "login", "http_request", { "user.id": "123", attempt: 2, admin: false }))
      const login = span("login")
      assert.deepStrictEqual(login.attributes, {
        "user.id": "123",
        attempt: 2,
        admin: false,
        "apm.operation.type": "http_request"
      })
      assert.strictEqual(login.kind, Otel.SpanKind.SERVER)
      // the specification leaves OK to the application: instrumentation leaves a success unset
      assert.strictEqual(login.status.code, Otel.SpanStatusCode.UNSET)
      assert.strictEqual(login.instrumentationScope.name, "effect")

      const failure = yield* run(Effect.flip(Apm.trace(Effect.fail(new Error("declined")), "payment", "external_api")))
      assert.strictEqual(failure.message, "declined")
      const payment = span("payment")
      assert.strictEqual(payment.kind, Otel.SpanKind.CLIENT)
      assert.strictEqual(payment.status.code, Otel.SpanStatusCode.ERROR)
      assert.strictEqual(payment.status.message, "declined")
      assert.strictEqual(payment.attributes["error.type"], "Error")
      assert.strictEqual(payment.events[0]?.name, "exception")
      assert.strictEqual(payment.events[0]?.attributes?.["exception.message"], "declined")

      const fiber = yield* Effect.forkChild(run(Apm.trace(Effect.never, "waits", "custom_operation")))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(span("waits").attributes["effect.fiber.interrupted"], true)

      const otel = yield* run(OtelTracer.currentOtelSpan.pipe(Effect.withSpan("asks")))
      assert.strictEqual(otel.spanContext().spanId, span("asks").spanContext().spanId)
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))

  it.live("an operation's recorded duration is its span's, exactly, and its metrics count it", () =>
    Effect.gen(function*() {
      const { run, span, records } = yield* setup
      yield* run(Apm.trace(Effect.sleep(5), "sleepy", "custom_operation"))
      const exported = span("sleepy")
      const record = records.find((r) => r.operationName === "sleepy")!
      // Epoch nanoseconds overflow a double's integers: the duration is taken field by field.
      const [start, end] = [exported.startTime, exported.endTime]
      const spanNanos = (end[0] - start[0]) * 1e9 + (end[1] - start[1])
      assert.isAtLeast(record.duration, 0.004)
      assert.strictEqual(Math.round(record.duration * 1e9), spanNanos)
      assert.closeTo(record.startTime, start[0] * 1e3 + start[1] / 1e6, 1e-3)
      const summary = yield* run(Apm.summary("sleepy"))
      assert.strictEqual(summary._tag === "Some" && summary.value.totalOperations, 1)
    }).pipe(Effect.scoped, Effect.provideService(Metric.MetricRegistry, new Map())))
})
