/**
 * The APM of the model router: model requests (with the OpenTelemetry GenAI
 * span attributes and client metrics), routing decisions, token usage, the
 * response cache and ensemble routing.
 *
 * Prompts carry user data, so the input text is never recorded by default:
 * a request records its length and a short hash. Capturing the text itself
 * is opt-in (`layer({ captureContent: true })`), as OpenTelemetry's GenAI
 * conventions recommend, on the span as `gen_ai.input.messages`.
 *
 * Model requests are CLIENT spans named `{gen_ai.operation.name} {model}`,
 * with the OpenTelemetry operation names (the seed's `generate` is
 * `text_completion`), `gen_ai.response.finish_reasons` when reported, and,
 * with a price table (`layer({ prices })`), the request's cost in US
 * dollars as `gen_ai.usage.cost` on the span and in
 * `model_router_cost_usd_total`.
 *
 * A value that cannot be recorded never costs the caller the model's answer:
 * a model, provider, operation or combination that is not a bounded name
 * folds into `other`; a token count that is not a whole number of at least 0,
 * a confidence outside [0, 1] or a reason that is not text is left out (the
 * request or decision itself is still recorded). Each is counted in
 * `apm_invalid_observations_total` and warned about at most once a minute;
 * `layer({ strict: true })` fails with `InvalidObservation` instead.
 *
 * @since 0.1.0
 */
import { Apm, CappedLabel, ErrorType, PerformanceMetrics } from "@mcp-apm/core"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { Exit, Tracer } from "effect"
import { dual } from "effect/Function"
import type { InvalidObservation } from "./InvalidObservation.ts"
import { cappedLabel, defaultLabelCap } from "./internal/labels.ts"
import { counter, durationHistogram, fractionBuckets, gauge, histogram, update } from "./internal/metrics.ts"
import { annotate, shortText, traceOperation, withCurrentSpan } from "./internal/operation.ts"
import * as Validator from "./internal/validate.ts"

const service = "model_router"

const { statusOf } = PerformanceMetrics

/**
 * The GenAI operations a request may be: the OpenTelemetry
 * `gen_ai.operation.name` values, plus the seed's `generate`, recorded as
 * `text_completion`.
 *
 * @category models
 * @since 0.1.0
 */
export const operations = [
  "chat",
  "generate",
  "text_completion",
  "generate_content",
  "embeddings",
  "create_agent",
  "invoke_agent",
  "execute_tool"
] as const

/**
 * @category models
 * @since 0.1.0
 */
export type Operation = typeof operations[number]

/**
 * The OpenTelemetry `gen_ai.operation.name` of an operation: the seed's
 * `generate` is a `text_completion`, the others are the convention's own.
 *
 * @category models
 * @since 0.1.0
 */
export const genAiOperationName = (operation: Operation | "other"): string =>
  operation === "generate" ? "text_completion" : operation

/**
 * How an ensemble combines the answers of the models it consulted.
 *
 * @category models
 * @since 0.1.0
 */
export const combinations = [
  "majority_vote",
  "weighted_average",
  "best_of",
  "first_success",
  "concatenate",
  "judge"
] as const

/**
 * @category models
 * @since 0.1.0
 */
export type Combination = typeof combinations[number]

/**
 * The recommended bucket boundaries of `gen_ai.client.token.usage`.
 *
 * @category constants
 * @since 0.1.0
 */
export const tokenUsageBuckets: ReadonlyArray<number> = [
  1,
  4,
  16,
  64,
  256,
  1024,
  4096,
  16384,
  65536,
  262144,
  1048576,
  4194304,
  16777216,
  67108864
]

/**
 * The recommended bucket boundaries of `gen_ai.client.operation.duration`, in seconds.
 *
 * @category constants
 * @since 0.1.0
 */
export const operationDurationBuckets: ReadonlyArray<number> = [
  0.01,
  0.02,
  0.04,
  0.08,
  0.16,
  0.32,
  0.64,
  1.28,
  2.56,
  5.12,
  10.24,
  20.48,
  40.96,
  81.92
]

/**
 * Name and description of each metric. The `gen_ai.*` names are
 * OpenTelemetry's; Prometheus exposition turns their dots into underscores.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  requests: {
    name: "model_router_model_requests_total",
    description: "Model requests finished, by model, operation and status"
  },
  routingDecisions: {
    name: "model_router_routing_decisions_total",
    description: "Routing decisions made, by chosen model"
  },
  tokenUsage: {
    name: "model_router_token_usage_total",
    description: "Tokens used, by model and token type (input, output)"
  },
  requestDuration: {
    name: "model_router_request_duration_seconds",
    description: "Duration of model requests in seconds, by model and operation"
  },
  confidence: {
    name: "model_router_confidence_score",
    description: "Confidence of routing decisions, between 0 and 1, by chosen model"
  },
  cacheLookups: {
    name: "model_router_cache_lookups_total",
    description: "Response cache lookups, by model and result (hit, miss)"
  },
  cacheHitRatio: {
    name: "model_router_cache_hit_ratio",
    description: "Share of response cache lookups that hit since start, between 0 and 1, by model"
  },
  ensembles: {
    name: "model_router_ensemble_requests_total",
    description: "Ensemble requests finished, by combination method and status"
  },
  genAiTokenUsage: {
    name: "gen_ai.client.token.usage",
    description: "Number of input and output tokens used (OpenTelemetry GenAI, unit {token})"
  },
  genAiOperationDuration: {
    name: "gen_ai_client_operation_duration_seconds",
    description: "GenAI operation duration in seconds (OpenTelemetry gen_ai.client.operation.duration, unit s)"
  },
  cost: {
    name: "model_router_cost_usd_total",
    description: "Cost of model requests in US dollars, from the layer's price table, by model"
  }
} as const

const metrics = {
  requests: counter(definitions.requests),
  routingDecisions: counter(definitions.routingDecisions),
  tokenUsage: counter(definitions.tokenUsage),
  requestDuration: durationHistogram(definitions.requestDuration),
  confidence: histogram(definitions.confidence, fractionBuckets),
  cacheLookups: counter(definitions.cacheLookups),
  cacheHitRatio: gauge(definitions.cacheHitRatio),
  ensembles: counter(definitions.ensembles),
  genAiTokenUsage: histogram(definitions.genAiTokenUsage, tokenUsageBuckets),
  genAiOperationDuration: histogram(definitions.genAiOperationDuration, operationDurationBuckets),
  cost: counter(definitions.cost)
}

/**
 * What a model costs, in US dollars per million tokens.
 *
 * @category models
 * @since 0.1.0
 */
export const Price = Schema.Struct({
  inputPerMillionTokens: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)),
  outputPerMillionTokens: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
})

/**
 * @category models
 * @since 0.1.0
 */
export type Price = typeof Price.Type

/**
 * A price table: each model's price, by the model name requests use (or
 * the `responseModel` they report).
 *
 * @category models
 * @since 0.1.0
 */
export const Prices = Schema.Record(Schema.String, Price)

/**
 * A price table `layer` cannot use; the message names the model and field.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidPriceTable extends Schema.TaggedError<InvalidPriceTable>()("InvalidPriceTable", {
  message: Schema.String
}) {}

const decodePrices = Schema.decodeUnknownEffect(Prices)

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Record the input text on spans as `gen_ai.input.messages`. Off by default. */
  readonly captureContent?: boolean | undefined
  /** Distinct model names kept as label values; later ones fold into `other`. */
  readonly maxModels?: number | undefined
  /** Fail with `InvalidObservation` on a value that cannot be recorded, instead of folding or dropping it. For tests. */
  readonly strict?: boolean | undefined
  /** Prices by model: with one, each request's cost is recorded (`gen_ai.usage.cost`, `model_router_cost_usd_total`). */
  readonly prices?: Readonly<Record<string, Price>> | undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export interface RequestOptions {
  /** The prompt. Only its length and hash are recorded unless content capture is on. */
  readonly inputText?: string | undefined
  /** `gen_ai.provider.name`, e.g. `anthropic`, `openai`. */
  readonly provider?: string | undefined
}

/**
 * Tokens of one request, reported from inside `traceModelRequest`.
 *
 * @category models
 * @since 0.1.0
 */
export interface TokenUsage {
  readonly inputTokens: number
  readonly outputTokens: number
  /** The model that answered (`gen_ai.response.model`), when it differs from the one asked for. */
  readonly responseModel?: string | undefined
  /** Why the model stopped, one reason per choice (`gen_ai.response.finish_reasons`): `stop`, `length`, ... */
  readonly finishReasons?: ReadonlyArray<string> | undefined
}

/**
 * What a routing step decided. `reason` is free text and only goes on the span.
 *
 * @category models
 * @since 0.1.0
 */
export interface RoutingDecision {
  readonly chosenModel: string
  readonly candidates: ReadonlyArray<string>
  readonly reason: string
  readonly confidence: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Ensemble {
  readonly models: ReadonlyArray<string>
  readonly combination: Combination
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ModelRouterApmService {
  readonly captureContent: boolean
  /** Traces one model request as `{operation} {model}`, the GenAI span name. */
  readonly traceModelRequest: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    model: string,
    operation: Operation,
    options?: RequestOptions
  ) => Effect.Effect<A, E | InvalidObservation, R>
  /** Records the tokens of the request it runs in; outside `traceModelRequest` they are an invalid observation. */
  readonly recordTokenUsage: (usage: TokenUsage) => Effect.Effect<void, InvalidObservation>
  /** Traces a routing step and records the decision it returns. */
  readonly traceRouting: <E, R>(
    self: Effect.Effect<RoutingDecision, E, R>
  ) => Effect.Effect<RoutingDecision, E | InvalidObservation, R>
  /** Traces a response cache lookup: `Some` is a hit, `None` a miss. */
  readonly traceCacheLookup: <A, E, R>(
    self: Effect.Effect<Option.Option<A>, E, R>,
    model: string
  ) => Effect.Effect<Option.Option<A>, E | InvalidObservation, R>
  /** Traces an ensemble; the model requests inside it become its child spans. */
  readonly traceEnsemble: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    ensemble: Ensemble
  ) => Effect.Effect<A, E | InvalidObservation, R>
}

/**
 * @category services
 * @since 0.1.0
 */
export class ModelRouterApm extends Context.Service<ModelRouterApm, ModelRouterApmService>()(
  "@mcp-apm/services/ModelRouterApm"
) {}

interface CurrentRequest {
  /** The model asked for, as validated, before folding into a label. */
  readonly requested: string
  readonly model: string
  readonly operation: string
  readonly span: Tracer.Span | undefined
}

/** The request a fiber runs in, so that usage reported inside it lands on its span and labels. */
const CurrentRequest = Context.Reference<CurrentRequest | undefined>(
  "@mcp-apm/services/ModelRouterApm/CurrentRequest",
  { defaultValue: () => undefined }
)

/**
 * FNV-1a (32 bit) of the UTF-8 bytes, as 8 hex digits. Enough to tell
 * whether two requests had the same prompt; not a cryptographic hash, which
 * would need Node's `crypto` or the asynchronous WebCrypto here, and would
 * not hide a short prompt from a dictionary attack any better.
 */
// WHATWG Encoding: in every runtime Effect runs on, not in the ES lib (services compiles without Node's types).
declare const TextEncoder: new() => { encode(input: string): Uint8Array }
const fnv1a = (text: string): string => {
  let hash = 0x811c9dc5
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0).toString(16).padStart(8, "0")
}

// Routing, cache lookups and ensembles are the router's own work, not calls to a model: INTERNAL spans.
const internal = { kind: "internal" } as const

const inputMessages = (text: string): string =>
  JSON.stringify([{ role: "user", parts: [{ type: "text", content: text }] }])

/**
 * What one service instance keeps: the `Apm` it records into, its checks,
 * label caps, prices and cache hit counts. Each method of the service is
 * the function `<method>In` below, over it.
 */
interface Router {
  readonly apm: Apm.ApmService
  readonly validate: Validator.Validator
  readonly captureContent: boolean
  readonly prices: Readonly<Record<string, Price>>
  readonly modelLabels: CappedLabel.CappedLabel
  readonly errorTypeLabels: CappedLabel.CappedLabel
  readonly cache: Map<string, { hits: number; lookups: number }>
}

const errorTypeOf = (router: Router, exit: Exit.Exit<unknown, unknown>): Record<string, string> => {
  const type = ErrorType.fromExit(exit)
  return type === undefined ? {} : { "error.type": router.errorTypeLabels.bound(type) }
}

const traceModelRequestIn = <A, E, R>(
  router: Router,
  self: Effect.Effect<A, E, R>,
  model: string,
  operation: Operation,
  requestOptions: RequestOptions = {}
): Effect.Effect<A, E | InvalidObservation, R> =>
  Effect.gen(function*() {
    const { validate } = router
    const requested = yield* validate.token("model", model)
    const op = yield* validate.oneOf("operation", operation, operations)
    const provider = requestOptions.provider === undefined
      ? undefined
      : yield* validate.token("provider", requestOptions.provider)
    const text = requestOptions.inputText === undefined
      ? undefined
      : yield* validate.text("inputText", requestOptions.inputText)
    const label = router.modelLabels.bound(requested)
    const genAiOp = genAiOperationName(op)
    const attributes: PerformanceMetrics.Attributes = {
      "gen_ai.operation.name": genAiOp,
      "gen_ai.request.model": requested,
      ...(provider === undefined ? {} : { "gen_ai.provider.name": provider }),
      ...(text === undefined ? {} : {
        "mcp.model_router.input_text.length": text.length,
        "mcp.model_router.input_text.hash": fnv1a(text)
      })
    }
    const genAiLabels = {
      "gen_ai.operation.name": genAiOp,
      "gen_ai.request.model": label,
      ...(provider === undefined ? {} : { "gen_ai.provider.name": provider })
    }
    const inner = withCurrentSpan((span) => {
      if (router.captureContent && text !== undefined) annotate(span, { "gen_ai.input.messages": inputMessages(text) })
      return Effect.provideService(self, CurrentRequest, { requested, model: label, operation: genAiOp, span })
    })
    return yield* traceOperation(
      router.apm,
      inner,
      `${genAiOp} ${label}`,
      "model_request",
      attributes,
      (seconds, exit) =>
        Effect.all([
          update(metrics.requests, { model: label, operation: op, status: statusOf(exit) }, 1),
          update(metrics.requestDuration, { model: label, operation: op }, seconds),
          update(metrics.genAiOperationDuration, { ...genAiLabels, ...errorTypeOf(router, exit) }, seconds)
        ], { discard: true })
    )
  })

const recordTokenUsageIn = Effect.fnUntraced(function*(router: Router, usage: TokenUsage) {
  const { validate, prices } = router
  const request = yield* CurrentRequest
  if (request === undefined) {
    return yield* validate.reject("recordTokenUsage", "outside a request", "a call inside traceModelRequest")
  }
  const input = yield* validate.count("inputTokens", Validator.fieldOf(usage, "inputTokens"))
  const output = yield* validate.count("outputTokens", Validator.fieldOf(usage, "outputTokens"))
  const reported = Validator.fieldOf(usage, "responseModel")
  const responseModel = reported === undefined ? undefined : yield* validate.token("responseModel", reported)
  const reasons = Validator.fieldOf(usage, "finishReasons")
  const finishReasons = reasons === undefined ? undefined : yield* Effect.forEach(
    yield* validate.list("finishReasons", reasons),
    (reason) => validate.token("finishReasons", reason)
  )
  const price = (responseModel === undefined ? undefined : prices[responseModel]) ?? prices[request.requested]
  const cost = price === undefined || (input === undefined && output === undefined)
    ? undefined
    : ((input ?? 0) * price.inputPerMillionTokens + (output ?? 0) * price.outputPerMillionTokens) / 1e6
  annotate(request.span, {
    "gen_ai.usage.input_tokens": input,
    "gen_ai.usage.output_tokens": output,
    "mcp.model_router.usage.total_tokens": input === undefined || output === undefined ? undefined : input + output,
    "gen_ai.response.model": responseModel,
    "gen_ai.response.finish_reasons": finishReasons,
    "gen_ai.usage.cost": cost
  })
  if (cost !== undefined) yield* update(metrics.cost, { model: request.model }, cost)
  const genAi = { "gen_ai.operation.name": request.operation, "gen_ai.request.model": request.model }
  const byType = [["input", input], ["output", output]] as const
  yield* Effect.forEach(byType, ([type, tokens]) =>
    tokens === undefined ? Effect.void : Effect.all([
      update(metrics.tokenUsage, { model: request.model, token_type: type }, tokens),
      update(metrics.genAiTokenUsage, { ...genAi, "gen_ai.token.type": type }, tokens)
    ], { discard: true }), { discard: true })
})

const recordDecision = Effect.fnUntraced(function*(router: Router, decision: RoutingDecision) {
  const { validate } = router
  const chosen = yield* validate.token("chosenModel", Validator.fieldOf(decision, "chosenModel"))
  const candidates = yield* Effect.forEach(
    yield* validate.list("candidates", Validator.fieldOf(decision, "candidates")),
    (candidate) => validate.token("candidates", candidate)
  )
  const confidence = yield* validate.fraction("confidence", Validator.fieldOf(decision, "confidence"))
  const reason = yield* validate.text("reason", Validator.fieldOf(decision, "reason"))
  yield* withCurrentSpan((span) => {
    annotate(span, {
      "mcp.model_router.routing.chosen_model": chosen,
      "mcp.model_router.routing.candidates": candidates.join(","),
      "mcp.model_router.routing.candidate_count": candidates.length,
      "mcp.model_router.routing.reason": reason === undefined ? undefined : shortText(reason),
      "mcp.model_router.routing.confidence": confidence
    })
    const model = router.modelLabels.bound(chosen)
    return Effect.all([
      update(metrics.routingDecisions, { model }, 1),
      confidence === undefined ? Effect.void : update(metrics.confidence, { model }, confidence)
    ], { discard: true })
  })
})

const traceRoutingIn = <E, R>(
  router: Router,
  self: Effect.Effect<RoutingDecision, E, R>
): Effect.Effect<RoutingDecision, E | InvalidObservation, R> =>
  traceOperation(
    router.apm,
    Effect.tap(self, (decision) => recordDecision(router, decision)),
    "model_router.route",
    "model_request",
    {},
    () => Effect.void,
    internal
  )

const recordLookup = (router: Router, label: string, found: unknown): Effect.Effect<void, InvalidObservation> => {
  if (!Option.isOption(found)) {
    return router.validate.reject("result", found, "an Option (Some for a hit, None for a miss)")
  }
  const hit = Option.isSome(found)
  const counts = router.cache.get(label) ?? { hits: 0, lookups: 0 }
  counts.lookups++
  if (hit) counts.hits++
  router.cache.set(label, counts)
  return Effect.all([
    Effect.annotateCurrentSpan("mcp.model_router.cache.hit", hit),
    update(metrics.cacheLookups, { model: label, result: hit ? "hit" : "miss" }, 1),
    update(metrics.cacheHitRatio, { model: label }, counts.hits / counts.lookups)
  ], { discard: true })
}

const traceCacheLookupIn = <A, E, R>(
  router: Router,
  self: Effect.Effect<Option.Option<A>, E, R>,
  model: string
): Effect.Effect<Option.Option<A>, E | InvalidObservation, R> =>
  Effect.flatMap(router.validate.token("model", model), (requested) => {
    const label = router.modelLabels.bound(requested)
    return traceOperation(
      router.apm,
      Effect.tap(self, (found) => recordLookup(router, label, found)),
      "model_router.cache_lookup",
      "model_request",
      { "gen_ai.request.model": requested },
      () => Effect.void,
      internal
    )
  })

const traceEnsembleIn = <A, E, R>(
  router: Router,
  self: Effect.Effect<A, E, R>,
  ensemble: Ensemble
): Effect.Effect<A, E | InvalidObservation, R> =>
  Effect.gen(function*() {
    const { validate } = router
    const names = yield* Effect.forEach(
      yield* validate.list("models", ensemble.models, 1),
      (model) => validate.token("models", model)
    )
    const combination = yield* validate.oneOf("combination", ensemble.combination, combinations)
    return yield* traceOperation(
      router.apm,
      self,
      "model_router.ensemble",
      "model_request",
      {
        "mcp.model_router.ensemble.models": names.join(","),
        "mcp.model_router.ensemble.size": names.length,
        "mcp.model_router.ensemble.combination": combination
      },
      (_, exit) => update(metrics.ensembles, { combination, status: statusOf(exit) }, 1),
      internal
    )
  })

/**
 * The service recording into `apm`; fails with `InvalidPriceTable` on a
 * price table it cannot use.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  apm: Apm.ApmService,
  options: Options = {}
): Effect.Effect<ModelRouterApmService, InvalidPriceTable> =>
  Effect.map(
    decodePrices(options.prices ?? {}).pipe(
      Effect.mapError((error) => new InvalidPriceTable({ message: `ModelRouterApm: invalid prices: ${error.message}` }))
    ),
    (prices) => {
      const router: Router = {
        apm,
        validate: Validator.make(service, options),
        captureContent: options.captureContent ?? false,
        prices,
        modelLabels: cappedLabel(options.maxModels),
        errorTypeLabels: new CappedLabel.CappedLabel(defaultLabelCap, ErrorType.other),
        cache: new Map()
      }
      return ModelRouterApm.of({
        captureContent: router.captureContent,
        traceModelRequest: (self, model, operation, requestOptions) =>
          traceModelRequestIn(router, self, model, operation, requestOptions),
        recordTokenUsage: (usage) => recordTokenUsageIn(router, usage),
        traceRouting: (self) => traceRoutingIn(router, self),
        traceCacheLookup: (self, model) => traceCacheLookupIn(router, self, model),
        traceEnsemble: (self, ensemble) => traceEnsembleIn(router, self, ensemble)
      })
    }
  )

/**
 * The service over the `Apm` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<ModelRouterApm, InvalidPriceTable, Apm.Apm> =>
  Layer.effect(ModelRouterApm, Effect.flatMap(Apm.Apm, (apm) => make(apm, options)))

/**
 * Traces a model request (the seed's `trace_model_request`).
 *
 * @example
 * ```ts
 * const answer = callClaude(prompt).pipe(
 *   ModelRouterApm.traceModelRequest("claude-3-sonnet", "generate", { inputText: prompt })
 * )
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceModelRequest: {
  (
    model: string,
    operation: Operation,
    options?: RequestOptions
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | InvalidObservation, R | ModelRouterApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    model: string,
    operation: Operation,
    options?: RequestOptions
  ): Effect.Effect<A, E | InvalidObservation, R | ModelRouterApm>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, model: string, operation: Operation, options?: RequestOptions) =>
    ModelRouterApm.use((apm) => apm.traceModelRequest(self, model, operation, options))
)

/**
 * Records the tokens of the current request (call it inside `traceModelRequest`).
 *
 * @category recording
 * @since 0.1.0
 */
export const recordTokenUsage = (usage: TokenUsage): Effect.Effect<void, InvalidObservation, ModelRouterApm> =>
  ModelRouterApm.use((apm) => apm.recordTokenUsage(usage))

/**
 * Traces a routing step that returns its decision.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceRouting = <E, R>(
  self: Effect.Effect<RoutingDecision, E, R>
): Effect.Effect<RoutingDecision, E | InvalidObservation, R | ModelRouterApm> =>
  ModelRouterApm.use((apm) => apm.traceRouting(self))

/**
 * Traces a response cache lookup for `model`: `Some` is a hit, `None` a miss.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceCacheLookup: {
  (
    model: string
  ): <A, E, R>(
    self: Effect.Effect<Option.Option<A>, E, R>
  ) => Effect.Effect<Option.Option<A>, E | InvalidObservation, R | ModelRouterApm>
  <A, E, R>(
    self: Effect.Effect<Option.Option<A>, E, R>,
    model: string
  ): Effect.Effect<Option.Option<A>, E | InvalidObservation, R | ModelRouterApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<Option.Option<A>, E, R>, model: string) =>
    ModelRouterApm.use((apm) => apm.traceCacheLookup(self, model))
)

/**
 * Traces an ensemble request over the models it consults.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceEnsemble: {
  (ensemble: Ensemble): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | ModelRouterApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    ensemble: Ensemble
  ): Effect.Effect<A, E | InvalidObservation, R | ModelRouterApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, ensemble: Ensemble) =>
    ModelRouterApm.use((apm) => apm.traceEnsemble(self, ensemble))
)
