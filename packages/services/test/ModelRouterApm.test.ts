import { assert, describe, it } from "@effect/vitest"

import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { ModelRouterApm } from "../src/index.ts"
import { after } from "./support/clock.ts"
import { series } from "./support/metrics.ts"
import {
  assertOutcomeUnchanged,
  capturingWarnings,
  hostileNumber,
  hostileString,
  hostileValue,
  invalidCount,
  outcomes
} from "./support/observations.ts"
import { exposition, prometheusName } from "./support/prometheus.ts"
import { ApmRecorder, ApmTest, MetricSeries } from "@mcp-apm/core/testing"

const TestLayer = ModelRouterApm.layer().pipe(Layer.provideMerge(ApmTest.layer()))
const StrictLayer = ModelRouterApm.layer({ strict: true }).pipe(Layer.provideMerge(ApmTest.layer()))
const CapturingLayer = ModelRouterApm.layer({ captureContent: true }).pipe(Layer.provideMerge(ApmTest.layer()))
const prices = {
  "gpt-4o": { inputPerMillionTokens: 2.5, outputPerMillionTokens: 10 },
  "claude-3-sonnet-20240229": { inputPerMillionTokens: 3, outputPerMillionTokens: 15 }
}
const PricedLayer = ModelRouterApm.layer({ prices }).pipe(Layer.provideMerge(ApmTest.layer()))

const prompt = "Summarise the quarterly report for ACME Corp, account 4711"

describe("ModelRouterApm", () => {
  it.effect("traces a model request with the GenAI span attributes and metrics", () =>
    Effect.gen(function*() {
      const answer = yield* after(
        1500,
        ModelRouterApm.recordTokenUsage({
          inputTokens: 120,
          outputTokens: 30,
          responseModel: "claude-3-sonnet-20240229"
        })
          .pipe(Effect.as("summary"))
      ).pipe(
        ModelRouterApm.traceModelRequest("claude-3-sonnet", "generate", { inputText: prompt, provider: "anthropic" })
      )
      assert.strictEqual(answer, "summary")

      const [span] = yield* ApmRecorder.spans
      // the seed's "generate" is OpenTelemetry's text_completion
      assert.strictEqual(span!.name, "text_completion claude-3-sonnet")
      assert.strictEqual(span!.kind, "client")
      assert.strictEqual(span!.status, "ok")
      const a = span!.attributes
      assert.strictEqual(a["gen_ai.operation.name"], "text_completion")
      assert.strictEqual(a["gen_ai.request.model"], "claude-3-sonnet")
      assert.strictEqual(a["gen_ai.response.model"], "claude-3-sonnet-20240229")
      assert.strictEqual(a["gen_ai.provider.name"], "anthropic")
      assert.strictEqual(a["gen_ai.usage.input_tokens"], 120)
      assert.strictEqual(a["gen_ai.usage.output_tokens"], 30)
      assert.strictEqual(a["mcp.model_router.usage.total_tokens"], 150)
      assert.strictEqual(a["apm.operation.type"], "model_request")

      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.operationName, "text_completion claude-3-sonnet")
      assert.strictEqual(record!.operationType, "model_request")
      assert.strictEqual(record!.duration, 1.5)

      const labels = { model: "claude-3-sonnet", operation: "generate" }
      assert.strictEqual(yield* MetricSeries.value("model_router_model_requests_total", { ...labels, status: "ok" }), 1)
      const duration = yield* MetricSeries.state("model_router_request_duration_seconds", labels)
      assert.strictEqual(duration!["count"], 1)
      assert.strictEqual(duration!["sum"], 1.5)
      const tokens = { model: "claude-3-sonnet" }
      assert.strictEqual(
        yield* MetricSeries.value("model_router_token_usage_total", { ...tokens, token_type: "input" }),
        120
      )
      assert.strictEqual(
        yield* MetricSeries.value("model_router_token_usage_total", { ...tokens, token_type: "output" }),
        30
      )

      const genAi = { "gen_ai.operation.name": "text_completion", "gen_ai.request.model": "claude-3-sonnet" }
      const input = yield* MetricSeries.state("gen_ai.client.token.usage", { ...genAi, "gen_ai.token.type": "input" })
      assert.strictEqual(input!["sum"], 120)
      const buckets = (input!["buckets"] as ReadonlyArray<[number, number]>).map(([b]) => b)
      assert.deepStrictEqual(buckets.filter(Number.isFinite), [...ModelRouterApm.tokenUsageBuckets])
      const opDuration = yield* MetricSeries.state("gen_ai_client_operation_duration_seconds", genAi)
      assert.strictEqual(opDuration!["sum"], 1.5)
      const durationBuckets = (opDuration!["buckets"] as ReadonlyArray<[number, number]>).map(([b]) => b)
      assert.deepStrictEqual(durationBuckets.filter(Number.isFinite), [...ModelRouterApm.operationDurationBuckets])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("records the input text's length and hash, never the text, by default", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(ModelRouterApm.traceModelRequest("gpt-4o", "chat", { inputText: prompt }))
      yield* Effect.void.pipe(ModelRouterApm.traceModelRequest("gpt-4o", "chat", { inputText: prompt }))
      yield* Effect.void.pipe(ModelRouterApm.traceModelRequest("gpt-4o", "chat", { inputText: prompt + "!" }))
      const spans = yield* ApmRecorder.spans
      const [first, second, third] = spans.map((s) => s.attributes)
      assert.strictEqual(first!["mcp.model_router.input_text.length"], prompt.length)
      assert.match(first!["mcp.model_router.input_text.hash"] as string, /^[0-9a-f]{8}$/)
      assert.strictEqual(first!["mcp.model_router.input_text.hash"], second!["mcp.model_router.input_text.hash"])
      assert.notStrictEqual(first!["mcp.model_router.input_text.hash"], third!["mcp.model_router.input_text.hash"])
      assert.isUndefined(first!["gen_ai.input.messages"])
      const everything = JSON.stringify({
        spans,
        records: yield* ApmRecorder.operations,
        text: (yield* exposition).text
      })
      assert.notInclude(everything, "ACME")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("captures the input text as gen_ai.input.messages when configured to", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(ModelRouterApm.traceModelRequest("gpt-4o", "chat", { inputText: prompt }))
      const [span] = yield* ApmRecorder.spans
      const messages = JSON.parse(span!.attributes["gen_ai.input.messages"] as string)
      assert.deepStrictEqual(messages, [{ role: "user", parts: [{ type: "text", content: prompt }] }])
      // The content stays on the span: records and metrics never hold it.
      assert.notInclude(JSON.stringify(yield* ApmRecorder.operations), "ACME")
    }).pipe(Effect.provide(CapturingLayer)))

  it.effect("a failed request is recorded as an error with its error.type", () =>
    Effect.gen(function*() {
      const error = { _tag: "RateLimited", message: "slow down" }
      const flipped = yield* Effect.flip(Effect.fail(error).pipe(ModelRouterApm.traceModelRequest("gpt-4o", "chat")))
      assert.strictEqual(flipped, error)
      assert.strictEqual((yield* ApmRecorder.spans)[0]!.status, "error")
      const labels = { model: "gpt-4o", operation: "chat" }
      assert.strictEqual(
        yield* MetricSeries.value("model_router_model_requests_total", { ...labels, status: "error" }),
        1
      )
      assert.isUndefined(yield* MetricSeries.value("model_router_model_requests_total", { ...labels, status: "ok" }))
      const duration = yield* MetricSeries.state("gen_ai_client_operation_duration_seconds", {
        "error.type": "RateLimited"
      })
      assert.strictEqual(duration!["count"], 1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("with strict: true, bad input fails with InvalidObservation and records nothing", () =>
    Effect.gen(function*() {
      const usage = yield* Effect.flip(
        ModelRouterApm.recordTokenUsage({ inputTokens: -1, outputTokens: 3 }).pipe(
          ModelRouterApm.traceModelRequest("gpt-4o", "chat")
        )
      )
      assert.strictEqual(usage._tag, "InvalidObservation")
      assert.strictEqual(usage.field, "inputTokens")
      assert.strictEqual(usage.message, "model_router: invalid inputTokens=-1: expected a whole number of at least 0")
      assert.isUndefined(yield* MetricSeries.value("model_router_token_usage_total"))

      const outside = yield* Effect.flip(ModelRouterApm.recordTokenUsage({ inputTokens: 1, outputTokens: 1 }))
      assert.strictEqual(outside.field, "recordTokenUsage")

      const operation = yield* Effect.flip(
        Effect.succeed(1).pipe(ModelRouterApm.traceModelRequest("gpt-4o", "dance" as never))
      )
      assert.strictEqual(operation.field, "operation")
      const model = yield* Effect.flip(
        Effect.succeed(1).pipe(ModelRouterApm.traceModelRequest("a model\nwith newline", "chat"))
      )
      assert.strictEqual(model.field, "model")

      const confidence = yield* Effect.flip(
        Effect.succeed({ chosenModel: "gpt-4o", candidates: ["gpt-4o"], reason: "cheap", confidence: 1.5 }).pipe(
          ModelRouterApm.traceRouting
        )
      )
      assert.strictEqual(confidence.field, "confidence")
      assert.isUndefined(yield* MetricSeries.value("model_router_routing_decisions_total"))
      assert.isUndefined(yield* MetricSeries.state("model_router_confidence_score"))
      const ensemble = yield* Effect.flip(
        Effect.void.pipe(ModelRouterApm.traceEnsemble({ models: [], combination: "best_of" }))
      )
      assert.strictEqual(ensemble.field, "models")
      // The rejected request never ran, so only the two traced effects left a record.
      assert.strictEqual((yield* ApmRecorder.operations).length, 2)
      // Strict or not, what was rejected is counted.
      assert.strictEqual(yield* invalidCount("model_router", "confidence"), 1)
    }).pipe(Effect.provide(StrictLayer)))

  it.effect("a confidence of 1.5 is dropped: the decision comes back and is counted, its confidence is not", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const decision = { chosenModel: "gpt-4o", candidates: ["gpt-4o"], reason: "cheap", confidence: 1.5 }
      assert.strictEqual(yield* Effect.succeed(decision).pipe(ModelRouterApm.traceRouting), decision)
      assert.strictEqual(yield* MetricSeries.value("model_router_routing_decisions_total", { model: "gpt-4o" }), 1)
      assert.isUndefined(yield* MetricSeries.state("model_router_confidence_score"))
      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.status, "ok")
      assert.strictEqual(span!.attributes["mcp.model_router.routing.chosen_model"], "gpt-4o")
      assert.notProperty(span!.attributes, "mcp.model_router.routing.confidence")
      assert.strictEqual(yield* invalidCount("model_router", "confidence"), 1)
      assert.deepStrictEqual(lines, ["model_router: invalid confidence=1.5: expected a number between 0 and 1"])
    }).pipe(capturingWarnings(lines), Effect.provide(TestLayer))
  })

  it.effect("a model name with a newline folds into other; the request runs once and its answer comes back", () =>
    Effect.gen(function*() {
      let runs = 0
      const answer = yield* Effect.sync(() => ++runs).pipe(
        ModelRouterApm.traceModelRequest("a model\nwith newline", "chat", { provider: "open ai" })
      )
      assert.strictEqual(answer, 1)
      assert.strictEqual(runs, 1)
      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.name, "chat other")
      assert.strictEqual(span!.attributes["gen_ai.request.model"], "other")
      assert.strictEqual(span!.attributes["gen_ai.provider.name"], "other")
      assert.strictEqual(
        yield* MetricSeries.value("model_router_model_requests_total", {
          model: "other",
          operation: "chat",
          status: "ok"
        }),
        1
      )
      assert.strictEqual(yield* invalidCount("model_router", "model"), 1)
      assert.strictEqual(yield* invalidCount("model_router", "provider"), 1)
      // An unknown operation folds too, and a failing request still fails with its own error.
      const error = yield* Effect.flip(
        Effect.fail("overloaded").pipe(ModelRouterApm.traceModelRequest("gpt-4o", "dance" as never))
      )
      assert.strictEqual(error, "overloaded")
      assert.strictEqual(
        yield* MetricSeries.value("model_router_model_requests_total", { operation: "other", status: "error" }),
        1
      )
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a negative token count reported inside a finished request is dropped; the answer comes back", () =>
    Effect.gen(function*() {
      const answer = yield* Effect.succeed("the answer").pipe(
        Effect.tap(() => ModelRouterApm.recordTokenUsage({ inputTokens: -1, outputTokens: 30 })),
        ModelRouterApm.traceModelRequest("gpt-4o", "chat")
      )
      assert.strictEqual(answer, "the answer")
      const tokens = (type: string) =>
        MetricSeries.value("model_router_token_usage_total", { model: "gpt-4o", token_type: type })
      assert.isUndefined(yield* tokens("input"))
      assert.strictEqual(yield* tokens("output"), 30)
      assert.isUndefined(yield* MetricSeries.state("gen_ai.client.token.usage", { "gen_ai.token.type": "input" }))
      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.status, "ok")
      assert.strictEqual(span!.attributes["gen_ai.usage.output_tokens"], 30)
      assert.notProperty(span!.attributes, "gen_ai.usage.input_tokens")
      assert.notProperty(span!.attributes, "mcp.model_router.usage.total_tokens")
      assert.strictEqual(yield* invalidCount("model_router", "inputTokens"), 1)
      assert.strictEqual(
        yield* MetricSeries.value("model_router_model_requests_total", { model: "gpt-4o", status: "ok" }),
        1
      )

      // Usage reported outside any request is dropped the same way.
      yield* ModelRouterApm.recordTokenUsage({ inputTokens: 1, outputTokens: 1 })
      assert.strictEqual(yield* invalidCount("model_router", "recordTokenUsage"), 1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a routing or cache result that is not what was declared is counted, and comes back as it was", () =>
    Effect.gen(function*() {
      const parsed = null as unknown as ModelRouterApm.RoutingDecision
      assert.strictEqual(yield* Effect.succeed(parsed).pipe(ModelRouterApm.traceRouting), parsed)
      for (const field of ["chosenModel", "candidates", "confidence", "reason"]) {
        assert.strictEqual(yield* invalidCount("model_router", field), 1, field)
      }
      assert.strictEqual(yield* MetricSeries.value("model_router_routing_decisions_total", { model: "other" }), 1)
      const cached = "a raw string" as unknown as Option.Option<string>
      assert.strictEqual(yield* Effect.succeed(cached).pipe(ModelRouterApm.traceCacheLookup("gpt-4o")), cached)
      assert.strictEqual(yield* invalidCount("model_router", "result"), 1)
      assert.isUndefined(yield* MetricSeries.value("model_router_cache_lookups_total"))
    }).pipe(capturingWarnings([]), Effect.provide(TestLayer)))

  it.effect("warns at most once a minute per field, saying how many were held back", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const route = (confidence: number) =>
        Effect.succeed({ chosenModel: "gpt-4o", candidates: [], reason: "", confidence }).pipe(
          ModelRouterApm.traceRouting
        )
      for (let i = 0; i < 3; i++) yield* route(1.5)
      yield* Effect.void.pipe(ModelRouterApm.traceModelRequest("bad model", "chat"))
      yield* TestClock.adjust("59 seconds")
      yield* route(-2)
      yield* TestClock.adjust("1 second")
      yield* route(NaN)
      assert.deepStrictEqual(lines, [
        "model_router: invalid confidence=1.5: expected a number between 0 and 1",
        "model_router: invalid model=\"bad model\": expected a name of letters, digits and . _ : / @ + - (at most 128 characters)",
        "model_router: invalid confidence=NaN: expected a number between 0 and 1 (3 more since the last warning)"
      ])
      assert.strictEqual(yield* invalidCount("model_router", "confidence"), 5)
      assert.strictEqual(yield* invalidCount("model_router", "model"), 1)
    }).pipe(capturingWarnings(lines), Effect.provide(TestLayer))
  })

  it.effect("for any hostile input, the caller's effect ends exactly as without the APM", () => {
    const inputs = fc.record({
      outcome: outcomes,
      call: fc.constantFrom("request", "routing", "cache", "ensemble"),
      model: hostileString,
      operation: fc.oneof(fc.constantFrom(...ModelRouterApm.operations), hostileValue),
      provider: hostileValue,
      inputText: hostileValue,
      decision: fc.oneof(
        fc.record({
          chosenModel: hostileValue,
          candidates: fc.oneof(fc.array(hostileString, { maxLength: 4 }), hostileValue),
          reason: hostileValue,
          confidence: hostileValue
        }),
        hostileValue
      ),
      found: fc.oneof(fc.constant(Option.none()), hostileValue.map(Option.some), hostileValue),
      usage: fc.oneof(
        fc.record({ inputTokens: hostileNumber, outputTokens: hostileValue, responseModel: hostileValue }),
        hostileValue
      ),
      models: fc.oneof(fc.array(hostileString, { maxLength: 4 }), hostileValue),
      combination: fc.oneof(fc.constantFrom(...ModelRouterApm.combinations), hostileValue)
    })
    type Input = typeof inputs extends fc.Arbitrary<infer I> ? I : never
    const success = (input: Input) =>
      input.call === "routing"
        ? input.decision
        : input.call === "cache"
        ? input.found
        : { answer: input.model }
    const trace = (self: Effect.Effect<any, any>, input: Input) => {
      const i = input as any
      switch (input.call) {
        case "request":
          return self.pipe(
            Effect.tap(() => ModelRouterApm.recordTokenUsage(i.usage)),
            ModelRouterApm.traceModelRequest(i.model, i.operation, { provider: i.provider, inputText: i.inputText })
          )
        case "routing":
          return ModelRouterApm.traceRouting(self)
        case "cache":
          return ModelRouterApm.traceCacheLookup(self, i.model)
        case "ensemble":
          return ModelRouterApm.traceEnsemble(self, { models: i.models, combination: i.combination })
      }
    }
    return assertOutcomeUnchanged(inputs, success, trace).pipe(capturingWarnings([]), Effect.provide(TestLayer))
  })

  it.effect("records routing decisions, with the reason on the span only", () =>
    Effect.gen(function*() {
      const decision: ModelRouterApm.RoutingDecision = {
        chosenModel: "claude-3-haiku",
        candidates: ["claude-3-haiku", "claude-3-sonnet", "gpt-4o"],
        reason: "short prompt, latency budget 500 ms",
        confidence: 0.8
      }
      const routed = yield* Effect.succeed(decision).pipe(ModelRouterApm.traceRouting)
      assert.strictEqual(routed, decision)
      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.name, "model_router.route")
      assert.strictEqual(span!.attributes["mcp.model_router.routing.chosen_model"], "claude-3-haiku")
      assert.strictEqual(
        span!.attributes["mcp.model_router.routing.candidates"],
        "claude-3-haiku,claude-3-sonnet,gpt-4o"
      )
      assert.strictEqual(span!.attributes["mcp.model_router.routing.candidate_count"], 3)
      assert.strictEqual(span!.attributes["mcp.model_router.routing.reason"], decision.reason)
      assert.strictEqual(span!.attributes["mcp.model_router.routing.confidence"], 0.8)
      assert.strictEqual(
        yield* MetricSeries.value("model_router_routing_decisions_total", { model: "claude-3-haiku" }),
        1
      )
      const confidence = yield* MetricSeries.state("model_router_confidence_score", { model: "claude-3-haiku" })
      assert.strictEqual(confidence!["sum"], 0.8)
      for (const s of yield* series("model_router_routing_decisions_total")) {
        assert.deepStrictEqual(Object.keys(s.attributes), ["model"])
      }
    }).pipe(Effect.provide(TestLayer)))

  it.effect("counts cache hits and misses and keeps the hit ratio", () =>
    Effect.gen(function*() {
      const lookups = [Option.some("cached"), Option.none(), Option.some("cached"), Option.some("cached")]
      for (const found of lookups) yield* Effect.succeed(found).pipe(ModelRouterApm.traceCacheLookup("gpt-4o"))
      assert.strictEqual(
        yield* MetricSeries.value("model_router_cache_lookups_total", { model: "gpt-4o", result: "hit" }),
        3
      )
      assert.strictEqual(
        yield* MetricSeries.value("model_router_cache_lookups_total", { model: "gpt-4o", result: "miss" }),
        1
      )
      assert.strictEqual(yield* MetricSeries.value("model_router_cache_hit_ratio", { model: "gpt-4o" }), 0.75)
      const spans = yield* ApmRecorder.spans
      assert.deepStrictEqual(spans.map((s) => s.attributes["mcp.model_router.cache.hit"]), [true, false, true, true])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("an ensemble is the parent of the model requests it consults", () =>
    Effect.gen(function*() {
      const ask = (model: string) => Effect.succeed(model).pipe(ModelRouterApm.traceModelRequest(model, "chat"))
      const answers = yield* Effect.all([ask("claude-3-sonnet"), ask("gpt-4o")]).pipe(
        ModelRouterApm.traceEnsemble({ models: ["claude-3-sonnet", "gpt-4o"], combination: "majority_vote" })
      )
      assert.deepStrictEqual(answers, ["claude-3-sonnet", "gpt-4o"])
      const spans = yield* ApmRecorder.spans
      const ensemble = spans.find((s) => s.name === "model_router.ensemble")!
      assert.strictEqual(ensemble.attributes["mcp.model_router.ensemble.models"], "claude-3-sonnet,gpt-4o")
      assert.strictEqual(ensemble.attributes["mcp.model_router.ensemble.size"], 2)
      assert.strictEqual(ensemble.attributes["mcp.model_router.ensemble.combination"], "majority_vote")
      const children = spans.filter((s) => s.parentSpanId === ensemble.spanId).map((s) => s.name)
      assert.deepStrictEqual(children, ["chat claude-3-sonnet", "chat gpt-4o"])
      assert.strictEqual(
        yield* MetricSeries.value("model_router_ensemble_requests_total", {
          combination: "majority_vote",
          status: "ok"
        }),
        1
      )
      // An ensemble of no models is still traced; only the empty list is counted as invalid.
      yield* Effect.void.pipe(ModelRouterApm.traceEnsemble({ models: [], combination: "best_of" }))
      assert.strictEqual(
        yield* MetricSeries.value("model_router_ensemble_requests_total", { combination: "best_of", status: "ok" }),
        1
      )
      assert.strictEqual(yield* invalidCount("model_router", "models"), 1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("model labels are capped: past maxModels, new models fold into other", () =>
    Effect.gen(function*() {
      for (const model of ["m-1", "m-2", "m-3", "m-4"]) {
        yield* Effect.void.pipe(ModelRouterApm.traceModelRequest(model, "chat"))
      }
      const models = (yield* series("model_router_model_requests_total")).map((s) => s.attributes["model"])
      assert.deepStrictEqual(models.sort(), ["m-1", "m-2", "other"])
      assert.strictEqual(yield* MetricSeries.value("model_router_model_requests_total", { model: "other" }), 2)
      // The span still names the model that was asked for.
      assert.strictEqual((yield* ApmRecorder.spans)[3]!.attributes["gen_ai.request.model"], "m-4")
    }).pipe(Effect.provide(ModelRouterApm.layer({ maxModels: 2 }).pipe(Layer.provideMerge(ApmTest.layer())))))

  it.effect("every metric has a HELP line in the Prometheus exposition", () =>
    Effect.gen(function*() {
      yield* ModelRouterApm.recordTokenUsage({ inputTokens: 1, outputTokens: 2 }).pipe(
        ModelRouterApm.traceModelRequest("gpt-4o", "chat"),
        ModelRouterApm.traceEnsemble({ models: ["gpt-4o"], combination: "best_of" })
      )
      yield* Effect.succeed({ chosenModel: "gpt-4o", candidates: [], reason: "", confidence: 1 }).pipe(
        ModelRouterApm.traceRouting
      )
      yield* Effect.succeed(Option.none()).pipe(ModelRouterApm.traceCacheLookup("gpt-4o"))
      const { help, text } = yield* exposition
      for (const d of Object.values(ModelRouterApm.definitions)) {
        assert.strictEqual(help.get(prometheusName(d.name)), d.description, d.name)
      }
      assert.include(text, "gen_ai_client_token_usage_bucket{")
    }).pipe(Effect.provide(PricedLayer)))

  it.effect("finish reasons and, with a price table, the cost on the span and in model_router_cost_usd_total", () =>
    Effect.gen(function*() {
      const usage = { inputTokens: 1_000, outputTokens: 500, finishReasons: ["stop", "length"] }
      yield* ModelRouterApm.recordTokenUsage(usage).pipe(ModelRouterApm.traceModelRequest("gpt-4o", "chat"))
      yield* ModelRouterApm.recordTokenUsage(usage).pipe(ModelRouterApm.traceModelRequest("gpt-4o", "chat"))
      // priced by the model that answered
      yield* ModelRouterApm.recordTokenUsage({
        inputTokens: 2_000,
        outputTokens: 0,
        responseModel: "claude-3-sonnet-20240229"
      })
        .pipe(ModelRouterApm.traceModelRequest("claude-3-sonnet", "chat"))
      // a model without a price has no cost
      yield* ModelRouterApm.recordTokenUsage({ inputTokens: 1, outputTokens: 1 }).pipe(
        ModelRouterApm.traceModelRequest("llama", "embeddings")
      )
      const spans = yield* ApmRecorder.spans
      assert.deepStrictEqual(spans[0]!.attributes["gen_ai.response.finish_reasons"], ["stop", "length"])
      assert.closeTo(spans[0]!.attributes["gen_ai.usage.cost"] as number, 0.0075, 1e-12)
      assert.closeTo(spans[2]!.attributes["gen_ai.usage.cost"] as number, 0.006, 1e-12)
      assert.isUndefined(spans[3]!.attributes["gen_ai.usage.cost"])
      assert.strictEqual(spans[3]!.name, "embeddings llama")
      assert.closeTo((yield* MetricSeries.value("model_router_cost_usd_total", { model: "gpt-4o" }))!, 0.015, 1e-12)
      assert.closeTo(
        (yield* MetricSeries.value("model_router_cost_usd_total", { model: "claude-3-sonnet" }))!,
        0.006,
        1e-12
      )
      assert.isUndefined(yield* MetricSeries.value("model_router_cost_usd_total", { model: "llama" }))
    }).pipe(Effect.provide(PricedLayer)))

  it.effect("model calls are CLIENT spans; routing, cache lookups and ensembles INTERNAL", () =>
    Effect.gen(function*() {
      yield* Effect.void.pipe(
        ModelRouterApm.traceModelRequest("gpt-4o", "chat"),
        ModelRouterApm.traceEnsemble({ models: ["gpt-4o"], combination: "best_of" })
      )
      yield* Effect.succeed({ chosenModel: "gpt-4o", candidates: [], reason: "", confidence: 1 }).pipe(
        ModelRouterApm.traceRouting
      )
      yield* Effect.succeed(Option.none()).pipe(ModelRouterApm.traceCacheLookup("gpt-4o"))
      const kinds = (yield* ApmRecorder.spans).map((s) => [s.name, s.kind])
      assert.deepStrictEqual(kinds, [
        ["chat gpt-4o", "client"],
        ["model_router.ensemble", "internal"],
        ["model_router.route", "internal"],
        ["model_router.cache_lookup", "internal"]
      ])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a bad price table fails the layer, naming the model and the field", () =>
    Effect.gen(function*() {
      const bad = { "gpt-4o": { inputPerMillionTokens: -1, outputPerMillionTokens: 10 } }
      const error = yield* Effect.flip(
        Layer.build(ModelRouterApm.layer({ prices: bad }).pipe(Layer.provide(ApmTest.layer())))
      )
      assert.strictEqual(error._tag, "InvalidPriceTable")
      assert.include(error.message, "gpt-4o")
      assert.include(error.message, "inputPerMillionTokens")
    }))
})
