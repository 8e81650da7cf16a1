/**
 * What a bad observation costs a service APM's caller: median ns/op of a
 * traced model request that reports its token usage, with valid values
 * against the same request with a model name containing a newline and a
 * negative token count (folded, dropped, counted, and warned about at most
 * once a minute), in alternating rounds, and `Apm.trace` alone beside them.
 */
import { Apm } from "@mcp-apm/core"
import { ModelRouterApm } from "@mcp-apm/services"
import { Effect, Layer, Logger, Metric } from "effect"
import { median } from "simple-statistics"
import { coreLayer, measure, timeOne } from "./trace-overhead.ts"

const request = (model: string, inputTokens: number) =>
  Effect.succeed(1).pipe(
    Effect.tap(() => ModelRouterApm.recordTokenUsage({ inputTokens, outputTokens: 30 })),
    ModelRouterApm.traceModelRequest(model, "chat"),
    // Only a strict layer fails with InvalidObservation; this one never does.
    Effect.orDie
  )

const layer = ModelRouterApm.layer().pipe(Layer.provideMerge(coreLayer()))

const rounds = 9

export const invalidObservations = Effect.gen(function*() {
  const traced = yield* measure(Apm.trace(Effect.succeed(1), "chat gpt-4o", "model_request"))
  const variants = [request("gpt-4o", 120), request("a model\nwith newline", -1)] as const
  for (const variant of variants) yield* timeOne(variant)
  // Alternate the variants round by round so that drift in the machine's load hits both alike.
  const samples: Array<[number, number]> = []
  for (let round = 0; round < rounds; round++) samples.push([yield* timeOne(variants[0]), yield* timeOne(variants[1])])
  return {
    traced,
    valid: median(samples.map((s) => s[0])),
    invalid: median(samples.map((s) => s[1])),
    ratio: median(samples.map((s) => s[1] / s[0]))
  }
}).pipe(
  Effect.provide(layer),
  // The one warning a minute is not what is measured; the gate that holds back the others is.
  Effect.provide(Logger.layer([])),
  Effect.provideService(Metric.MetricRegistry, new Map())
)

export const printInvalidObservations = (r: Effect.Success<typeof invalidObservations>) => {
  console.log(
    "invalid-observations (median ns/op of %d alternating rounds, ModelRouterApm request with token usage)",
    rounds
  )
  console.log("  (a) Apm.trace alone                       %s ns", r.traced.toFixed(0))
  console.log("  (b) valid model and token counts          %s ns", r.valid.toFixed(0))
  console.log("  (c) model with a newline, tokens = -1     %s ns (folded, dropped, counted)", r.invalid.toFixed(0))
  console.log("  c/b = %s, median of the rounds' ratios", r.ratio.toFixed(2))
}

if (import.meta.main) printInvalidObservations(await Effect.runPromise(invalidObservations))
