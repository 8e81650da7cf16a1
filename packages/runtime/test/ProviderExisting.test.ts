import { assert, describe, it } from "@effect/vitest"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { Apm, ApmConfig } from "@mcp-apm/core"
import { trace } from "@opentelemetry/api"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { ConfigProvider, Duration, Effect, Layer, Metric, Option } from "effect"
import { join } from "node:path"
import { ApmLiveStack, RuntimeConfig } from "../src/index.ts"
import { collector } from "./support/SpanExportCollector.ts"
import { temporaryDirectory } from "./support/live.ts"

const existingProviderStack = (env: Record<string, string>) =>
  ApmLiveStack.make(
    ApmConfig.ApmConfig.layer(),
    RuntimeConfig.layer({
      host: "127.0.0.1",
      port: 0,
      serviceName: "provider-existing-test",
      baselineFile: join(temporaryDirectory("provider-existing"), "baselines.json"),
      profileDirectory: Option.none(),
      httpToken: Option.none(),
      shutdownTimeout: Duration.seconds(3)
    }),
    { tracerProvider: "existing" }
  ).pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))

/** The application's own tracer provider, exporting to memory. */
const ownProvider = Effect.acquireRelease(
  Effect.sync(() => {
    const exporter = new InMemorySpanExporter()
    const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    return { exporter, provider }
  }),
  ({ provider }) => Effect.promise(() => provider.shutdown())
)

const work = Effect.gen(function*() {
  yield* Apm.trace(Effect.withSpan(Effect.void, "inner_step"), "checkout", "business_transaction")
  return yield* Effect.flip(Apm.trace(Effect.fail("declined"), "payment", "external_api"))
})

describe("ProviderExisting", () => {
  it.live("uses the globally registered provider: Apm.trace's spans reach the application's exporter, not a second SDK", () =>
    Effect.gen(function*() {
      const { exporter, provider } = yield* ownProvider
      yield* Effect.acquireRelease(
        Effect.sync(() => trace.setGlobalTracerProvider(provider)),
        () => Effect.sync(() => trace.disable())
      )
      // An endpoint is set: with the existing provider, no span goes there.
      const c = yield* collector({ _tag: "ok" })
      const error = yield* Effect.scoped(
        Layer.build(existingProviderStack({ OTEL_EXPORTER_OTLP_ENDPOINT: c.endpoint, OTEL_METRICS_EXPORTER: "none" }))
          .pipe(Effect.flatMap((context) => work.pipe(Effect.provideContext(context))))
      ).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
      assert.strictEqual(error, "declined")
      const spans = exporter.getFinishedSpans()
      assert.deepStrictEqual(spans.map((s) => s.name).sort(), ["checkout", "inner_step", "payment"])
      const checkout = spans.find((s) => s.name === "checkout")!
      const inner = spans.find((s) => s.name === "inner_step")!
      assert.strictEqual(inner.parentSpanContext?.spanId, checkout.spanContext().spanId)
      assert.strictEqual(checkout.attributes["apm.operation.type"], "business_transaction")
      assert.strictEqual(spans.find((s) => s.name === "payment")!.status.code, 2)
      assert.deepStrictEqual(c.accepted, [])
      assert.isFalse(c.requests.some((r) => r.path === "/v1/traces"))
    }))

  it.live("prefers the OtelTracerProvider in context over the global one", () =>
    Effect.gen(function*() {
      const own = yield* ownProvider
      const global = yield* ownProvider
      yield* Effect.acquireRelease(
        Effect.sync(() => trace.setGlobalTracerProvider(global.provider)),
        () => Effect.sync(() => trace.disable())
      )
      yield* Effect.scoped(
        Layer.build(
          existingProviderStack({}).pipe(
            Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, own.provider))
          )
        ).pipe(Effect.flatMap((context) => work.pipe(Effect.provideContext(context))))
      ).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
      assert.deepStrictEqual(own.exporter.getFinishedSpans().map((s) => s.name).sort(), [
        "checkout",
        "inner_step",
        "payment"
      ])
      assert.deepStrictEqual(global.exporter.getFinishedSpans(), [])
    }))
})
