import { MetricSeries } from "@mcp-apm/core/testing"
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit, Logger } from "effect"
import fc from "fast-check"

/** The count of `apm_invalid_observations_total{service, field}`, if the series exists. */
export const invalidCount = (service: string, field: string) =>
  MetricSeries.value("apm_invalid_observations_total", { service, field })

/** Runs an effect with a logger that keeps the message of every Warning line in `lines`. */
export const capturingWarnings = (lines: Array<string>) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.provide(
    self,
    Logger.layer([Logger.make(({ logLevel, message }) => {
      if (logLevel === "Warn") lines.push(String(message))
    })])
  )

/** An exit as what a caller can observe of it: the success value, or each failure, defect and interruption. */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isSuccess(exit)
    ? { success: exit.value }
    : {
      reasons: exit.cause.reasons.map((reason) =>
        Cause.isFailReason(reason)
          ? { failure: reason.error }
          : Cause.isDieReason(reason)
          ? { defect: reason.defect }
          : { interruption: true }
      )
    }

/** How a generated caller's effect ends. */
export const outcomes = fc.constantFrom("success", "failure", "defect", "interruption")

export type Outcome = "success" | "failure" | "defect" | "interruption"

const failure = { _tag: "CallerError", message: "the caller's own typed error" }
const defect = new Error("the caller's own defect")

/** Strings a caller might pass as a name: anything, with the troublesome ones made likely. */
export const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.constantFrom("", " ", "a model\nwith newline", "other", "x".repeat(200), "tab\there", "ok-name", "gpt-4o")
)

/** Numbers a caller might report: anything, with the troublesome ones made likely. */
export const hostileNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-1, 1.5, NaN, Infinity, -Infinity, -0, 0.5, 3, Number.MAX_VALUE, 2 ** 53)
)

/** Values past the declared types, as an untyped caller (or a cast) can pass. */
export const hostileValue = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(undefined, null, true, {}, [], Object.create(null), Symbol("hostile"))
)

/**
 * The property of every service APM: for any generated input, the caller's
 * effect runs exactly once under `trace` and ends exactly as it does without
 * it (same success value, typed failure, defect or interruption). The runs
 * are seeded, so a failure reproduces.
 */
export const assertOutcomeUnchanged = <I extends { readonly outcome: Outcome }, R>(
  inputs: fc.Arbitrary<I>,
  success: (input: I) => unknown,
  trace: (self: Effect.Effect<any, any>, input: I) => Effect.Effect<unknown, unknown, R>
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<R>()
    const check = (input: I) =>
      Effect.gen(function*() {
        let runs = 0
        const value = success(input)
        const caller = Effect.suspend(() => {
          runs++
          switch (input.outcome) {
            case "success":
              return Effect.succeed(value)
            case "failure":
              return Effect.fail(failure)
            case "defect":
              return Effect.die(defect)
            case "interruption":
              return Effect.interrupt
          }
        })
        const plain = yield* Effect.exit(caller)
        const traced = yield* Effect.exit(trace(caller, input))
        assert.strictEqual(runs, 2, "the traced effect runs exactly once")
        assert.deepStrictEqual(outcomeOf(traced), outcomeOf(plain))
        // The very value, not a copy of it.
        if (Exit.isSuccess(traced)) assert.strictEqual(traced.value, value)
      })
    yield* Effect.promise(() =>
      fc.assert(fc.asyncProperty(inputs, (input) => Effect.runPromiseWith(context)(check(input))), {
        seed: 20261201,
        numRuns: 150
      })
    )
  })
