import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { assert, describe, it } from "@effect/vitest"
import { Apm, ApmConfig } from "@mcp-apm/core"
import { SpanKind } from "@opentelemetry/api"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Fiber, Layer, Metric, Schema } from "effect"
import { TestClock } from "effect/testing"

class CardDeclined extends Schema.TaggedError<CardDeclined>()("CardDeclined", {}) {}

// An exporter per test: releasing the SDK layer shuts its exporter down for good.
const stack = (exported: InMemorySpanExporter) =>
  Apm.layerWithoutResources.pipe(
    Layer.provide(ApmConfig.ApmConfig.layer({})),
    Layer.provideMerge(NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exported) }))),
    Layer.provide(Layer.succeed(Metric.MetricRegistry, new Map()))
  )

const lookup = (millis: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Apm.trace(Effect.sleep(millis), "lookup", "custom_operation"))
    yield* TestClock.adjust(millis)
    yield* Fiber.join(fiber)
  })

describe("semantic conventions in exported OpenTelemetry spans", () => {
  it.effect("kinds, error.type and db attributes reach the exporter", () => {
    const exported = new InMemorySpanExporter()
    return Effect.gen(function*() {
      yield* Effect.exit(new CardDeclined().pipe(Apm.trace("checkout", "business_transaction")))
      yield* Effect.void.pipe(Apm.profileQuery("SELECT * FROM users WHERE id = 1", { system: "postgresql" }))
      const spans = new Map(exported.getFinishedSpans().map((s) => [s.name, s]))
      const checkout = spans.get("checkout")!
      assert.strictEqual(checkout.kind, SpanKind.INTERNAL)
      assert.strictEqual(checkout.attributes["error.type"], "CardDeclined")
      const query = spans.get("SELECT users")!
      assert.strictEqual(query.kind, SpanKind.CLIENT)
      assert.strictEqual(query.attributes["db.system.name"], "postgresql")
      assert.strictEqual(query.attributes["db.query.summary"], "SELECT users")
    }).pipe(Effect.provide(stack(exported)))
  })

  it.effect("an anomalous operation's exported span carries the anomaly marks a tail-sampling policy keys on", () => {
    const exported = new InMemorySpanExporter()
    return Effect.gen(function*() {
      for (let i = 0; i < 200; i++) yield* lookup(100 + (i % 5))
      yield* lookup(3_000)
      const spans = exported.getFinishedSpans().filter((s) => s.name === "lookup")
      const marked = spans.filter((s) => s.attributes["apm.anomaly.severity"] !== undefined)
      assert.strictEqual(marked.length, 1, "only the slow one is marked")
      const [slow] = marked
      assert.strictEqual(slow, spans[spans.length - 1])
      assert.isNumber(slow!.attributes["apm.anomaly.score"])
      assert.deepStrictEqual(slow!.events.map((e) => e.name), ["apm.anomaly"])
      assert.include(["INFO", "WARNING", "ERROR", "CRITICAL"], slow!.events[0]!.attributes!["apm.anomaly.severity"])
    }).pipe(Effect.provide(stack(exported)))
  })
})
