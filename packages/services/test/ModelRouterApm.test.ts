import { assert, describe, it } from "@effect/vitest"
import { ApmRecorder, ApmTest } from "@mcp-apm/core"
import { Effect, Layer, Option } from "effect"
import { ModelRouterApm } from "../src/index.ts"
import { after } from "./support/clock.ts"
import { series, seriesState, seriesValue } from "./support/metrics.ts"
import { exposition, prometheusName } from "./support/prometheus.ts"

const TestLayer = ModelRouterApm.layer().pipe(Layer.provideMerge(ApmTest))
const CapturingLayer = ModelRouterApm.layer({ captureContent: true }).pipe(Layer.provideMerge(ApmTest))

const prompt = "Summarise the quarterly report for ACME Corp, account 4711"

describe("ModelRouterApm", () => {
  it.effect("traces a model request with the GenAI span attributes and metrics", () =>
    Effect.gen(function*() {
      const answer = yield* after(
        1500,
        ModelRouterApm.recordTokenUsage({ inputTokens: 120, outputTokens: 30, responseModel: "claude-3-sonnet-20240229" })
          .pipe(Effect.as("summary"))
      ).pipe(ModelRouterApm.traceModelRequest("claude-3-sonnet", "generate", { inputText: prompt, provider: "anthropic" }))
      assert.strictEqual(answer, "summary")

      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.name, "generate claude-3-sonnet")
      assert.strictEqual(span!.status, "ok")
      const a = span!.attributes
      assert.strictEqual(a["gen_ai.operation.name"], "generate")
      assert.strictEqual(a["gen_ai.request.model"], "claude-3-sonnet")
      assert.strictEqual(a["gen_ai.response.model"], "claude-3-sonnet-20240229")
      assert.strictEqual(a["gen_ai.provider.name"], "anthropic")
      assert.strictEqual(a["gen_ai.usage.input_tokens"], 120)
      assert.strictEqual(a["gen_ai.usage.output_tokens"], 30)
      assert.strictEqual(a["mcp.model_router.usage.total_tokens"], 150)
      assert.strictEqual(a["apm.operation.type"], "model_request")

      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.operationName, "generate claude-3-sonnet")
      assert.strictEqual(record!.operationType, "model_request")
      assert.strictEqual(record!.duration, 1.5)

      const labels = { model: "claude-3-sonnet", operation: "generate" }
      assert.strictEqual(yield* seriesValue("model_router_model_requests_total", { ...labels, status: "ok" }), 1)
      const duration = yield* seriesState("model_router_request_duration_seconds", labels)
      assert.strictEqual(duration!["count"], 1)
      assert.strictEqual(duration!["sum"], 1.5)
      const tokens = { model: "claude-3-sonnet" }
      assert.strictEqual(yield* seriesValue("model_router_token_usage_total", { ...tokens, token_type: "input" }), 120)
      assert.strictEqual(yield* seriesValue("model_router_token_usage_total", { ...tokens, token_type: "output" }), 30)

      const genAi = { "gen_ai.operation.name": "generate", "gen_ai.request.model": "claude-3-sonnet" }
      const input = yield* seriesState("gen_ai.client.token.usage", { ...genAi, "gen_ai.token.type": "input" })
      assert.strictEqual(input!["sum"], 120)
      const buckets = (input!["buckets"] as ReadonlyArray<[number, number]>).map(([b]) => b)
      assert.deepStrictEqual(buckets.filter(Number.isFinite), [...ModelRouterApm.tokenUsageBuckets])
      const opDuration = yield* seriesState("gen_ai.client.operation.duration", genAi)
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
      const everything = JSON.stringify({ spans, records: yield* ApmRecorder.operations, text: (yield* exposition).text })
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
      assert.strictEqual(yield* seriesValue("model_router_model_requests_total", { ...labels, status: "error" }), 1)
      assert.isUndefined(yield* seriesValue("model_router_model_requests_total", { ...labels, status: "ok" }))
      const duration = yield* seriesState("gen_ai.client.operation.duration", { "error.type": "RateLimited" })
      assert.strictEqual(duration!["count"], 1)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("rejects bad input with InvalidObservation and records nothing", () =>
    Effect.gen(function*() {
      const usage = yield* Effect.flip(
        ModelRouterApm.recordTokenUsage({ inputTokens: -1, outputTokens: 3 }).pipe(
          ModelRouterApm.traceModelRequest("gpt-4o", "chat")
        )
      )
      assert.strictEqual(usage._tag, "InvalidObservation")
      assert.strictEqual(usage.field, "inputTokens")
      assert.isUndefined(yield* seriesValue("model_router_token_usage_total"))

      const outside = yield* Effect.flip(ModelRouterApm.recordTokenUsage({ inputTokens: 1, outputTokens: 1 }))
      assert.strictEqual(outside.field, "recordTokenUsage")

      const operation = yield* Effect.flip(Effect.succeed(1).pipe(ModelRouterApm.traceModelRequest("gpt-4o", "dance" as never)))
      assert.strictEqual(operation.field, "operation")
      const model = yield* Effect.flip(Effect.succeed(1).pipe(ModelRouterApm.traceModelRequest("a model\nwith newline", "chat")))
      assert.strictEqual(model.field, "model")

      const confidence = yield* Effect.flip(
        Effect.succeed({ chosenModel: "gpt-4o", candidates: ["gpt-4o"], reason: "cheap", confidence: 1.5 }).pipe(
          ModelRouterApm.traceRouting
        )
      )
      assert.strictEqual(confidence.field, "confidence")
      assert.isUndefined(yield* seriesValue("model_router_routing_decisions_total"))
      assert.isUndefined(yield* seriesState("model_router_confidence_score"))
      // The rejected request never ran, so only the two traced effects left a record.
      assert.strictEqual((yield* ApmRecorder.operations).length, 2)
    }).pipe(Effect.provide(TestLayer)))

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
      assert.strictEqual(span!.attributes["mcp.model_router.routing.candidates"], "claude-3-haiku,claude-3-sonnet,gpt-4o")
      assert.strictEqual(span!.attributes["mcp.model_router.routing.candidate_count"], 3)
      assert.strictEqual(span!.attributes["mcp.model_router.routing.reason"], decision.reason)
      assert.strictEqual(span!.attributes["mcp.model_router.routing.confidence"], 0.8)
      assert.strictEqual(yield* seriesValue("model_router_routing_decisions_total", { model: "claude-3-haiku" }), 1)
      const confidence = yield* seriesState("model_router_confidence_score", { model: "claude-3-haiku" })
      assert.strictEqual(confidence!["sum"], 0.8)
      for (const s of yield* series("model_router_routing_decisions_total")) {
        assert.deepStrictEqual(Object.keys(s.attributes), ["model"])
      }
    }).pipe(Effect.provide(TestLayer)))

  it.effect("counts cache hits and misses and keeps the hit ratio", () =>
    Effect.gen(function*() {
      const lookups = [Option.some("cached"), Option.none(), Option.some("cached"), Option.some("cached")]
      for (const found of lookups) yield* Effect.succeed(found).pipe(ModelRouterApm.traceCacheLookup("gpt-4o"))
      assert.strictEqual(yield* seriesValue("model_router_cache_lookups_total", { model: "gpt-4o", result: "hit" }), 3)
      assert.strictEqual(yield* seriesValue("model_router_cache_lookups_total", { model: "gpt-4o", result: "miss" }), 1)
      assert.strictEqual(yield* seriesValue("model_router_cache_hit_ratio", { model: "gpt-4o" }), 0.75)
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
        yield* seriesValue("model_router_ensemble_requests_total", { combination: "majority_vote", status: "ok" }),
        1
      )
      const bad = yield* Effect.flip(Effect.void.pipe(ModelRouterApm.traceEnsemble({ models: [], combination: "best_of" })))
      assert.strictEqual(bad.field, "models")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("model labels are capped: past maxModels, new models fold into other", () =>
    Effect.gen(function*() {
      for (const model of ["m-1", "m-2", "m-3", "m-4"]) {
        yield* Effect.void.pipe(ModelRouterApm.traceModelRequest(model, "chat"))
      }
      const models = (yield* series("model_router_model_requests_total")).map((s) => s.attributes["model"])
      assert.deepStrictEqual(models.sort(), ["m-1", "m-2", "other"])
      assert.strictEqual(yield* seriesValue("model_router_model_requests_total", { model: "other" }), 2)
      // The span still names the model that was asked for.
      assert.strictEqual((yield* ApmRecorder.spans)[3]!.attributes["gen_ai.request.model"], "m-4")
    }).pipe(Effect.provide(ModelRouterApm.layer({ maxModels: 2 }).pipe(Layer.provideMerge(ApmTest)))))

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
    }).pipe(Effect.provide(TestLayer)))
})
