/**
 * What a bad observation costs a service APM's caller: median ns/op of a
 * traced model request that reports its token usage, with valid values
 * against the same request with a model name containing a newline and a
 * negative token count (folded, dropped, counted, and warned about at most
 * once a minute), against `Apm.trace` alone.
 */
import { Apm } from "@mcp-apm/core"
import { ModelRouterApm } from "@mcp-apm/services"
import { Effect, Layer, Logger, Metric } from "effect"
import { coreLayer, measure } from "./trace-overhead.ts"

const request = (model: string, inputTokens: number) =>
  Effect.succeed(1).pipe(
    Effect.tap(() => ModelRouterApm.recordTokenUsage({ inputTokens, outputTokens: 30 })),
    ModelRouterApm.traceModelRequest(model, "chat"),
    // Only a strict layer fails with InvalidObservation; this one never does.
    Effect.orDie
  )

const layer = ModelRouterApm.layer().pipe(Layer.provideMerge(coreLayer()))

export const invalidObservations = Effect.gen(function*() {
  const traced = yield* measure(Apm.trace(Effect.succeed(1), "chat gpt-4o", "model_request"))
  const valid = yield* measure(request("gpt-4o", 120))
  const invalid = yield* measure(request("a model\nwith newline", -1))
  return { traced, valid, invalid }
}).pipe(
  Effect.provide(layer),
  // The one warning a minute is not what is measured; the gate that holds back the others is.
  Effect.provide(Logger.layer([])),
  Effect.provideService(Metric.MetricRegistry, new Map())
)

export const printInvalidObservations = (r: Effect.Success<typeof invalidObservations>) => {
  console.log("invalid-observations (median ns/op, ModelRouterApm request with token usage)")
  console.log("  (a) Apm.trace alone                       %s ns", r.traced.toFixed(0))
  console.log("  (b) valid model and token counts          %s ns", r.valid.toFixed(0))
  console.log("  (c) model with a newline, tokens = -1     %s ns (folded, dropped, counted)", r.invalid.toFixed(0))
  console.log("  c/b = %s", (r.invalid / r.valid).toFixed(2))
}

if (import.meta.main) printInvalidObservations(await Effect.runPromise(invalidObservations))
