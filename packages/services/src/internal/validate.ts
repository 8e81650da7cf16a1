/**
 * How the service APMs check what their callers report. An invalid value
 * is counted in `apm_invalid_observations_total{service, field}`; then, by
 * default, the check gives back what to record instead (a label folds into
 * `overflowLabel`, a number or free text is dropped as `undefined`) and
 * warns at most once a minute per service and field. A bookkeeping value
 * must never cost the caller its result, so by default no check fails; a
 * `strict` layer (for tests that want to see the mistake) fails with
 * `InvalidObservation` instead.
 *
 * Checks take `unknown`: callers outside TypeScript, or behind a cast, can
 * pass anything, and a check must not throw on it.
 *
 * @internal
 */
import { RateLimitedLog } from "@mcp-apm/core"
import { Effect } from "effect"
import { InvalidObservation, messageOf } from "../InvalidObservation.ts"
import { definitions } from "../ServiceMetrics.ts"
import { overflowLabel } from "./labels.ts"
import { counter, update } from "./metrics.ts"

const invalidObservations = counter(definitions.invalidObservations)

const maxShownValue = 80

// Never throws, whatever it is given: `String` would on an object without a prototype.
const show = (value: unknown): string => {
  const text = typeof value === "string"
    ? JSON.stringify(value)
    : Array.isArray(value)
    ? `an array of ${value.length}`
    : typeof value === "object" && value !== null
    ? "an object"
    : String(value)
  return text.length <= maxShownValue ? text : text.slice(0, maxShownValue - 1) + "…"
}

/**
 * What a label value may look like: a short identifier-like token. Anything
 * else (spaces, newlines, long text) is free text, which must not become a
 * label or an operation name.
 */
const tokenPattern = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/

const isToken = (value: unknown): value is string => typeof value === "string" && tokenPattern.test(value)

const tokenExpected = "a name of letters, digits and . _ : / @ + - (at most 128 characters)"

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

const isFraction = (value: unknown): value is number => typeof value === "number" && value >= 0 && value <= 1

const isText = (value: unknown): value is string => typeof value === "string"

/**
 * A field of what the caller's effect returned (a routing decision, a merge
 * result), or `undefined` when that is no object at all (`null` from a
 * parser), so that reading it cannot throw in the caller's effect.
 *
 * @internal
 */
export const fieldOf = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined

/** @internal */
export interface Validator {
  /** Counts `value` of `field` as invalid, then fails if strict, else warns (rate-limited). */
  readonly reject: (field: string, value: unknown, expected: string) => Effect.Effect<void, InvalidObservation>
  /** A label-like name, or `other`. */
  readonly token: (field: string, value: unknown) => Effect.Effect<string, InvalidObservation>
  /** An identifier that is no label (a workflow id): a token, or dropped. */
  readonly id: (field: string, value: unknown) => Effect.Effect<string | undefined, InvalidObservation>
  /** A member of a closed set, or `other`. */
  readonly oneOf: <const L extends string>(
    field: string,
    value: unknown,
    allowed: ReadonlyArray<L>
  ) => Effect.Effect<L | typeof overflowLabel, InvalidObservation>
  /** A whole number of at least 0, or dropped. */
  readonly count: (field: string, value: unknown) => Effect.Effect<number | undefined, InvalidObservation>
  /** A number in [0, 1], or dropped. */
  readonly fraction: (field: string, value: unknown) => Effect.Effect<number | undefined, InvalidObservation>
  /** Free text (only ever a span attribute), or dropped. */
  readonly text: (field: string, value: unknown) => Effect.Effect<string | undefined, InvalidObservation>
  /** An array of at least `minLength` (default 0) elements, or empty. */
  readonly list: (
    field: string,
    value: unknown,
    minLength?: number
  ) => Effect.Effect<ReadonlyArray<unknown>, InvalidObservation>
}

/**
 * The checks of one service layer, with its own warning limiter, so that
 * one service's flood of bad values cannot hide another's.
 *
 * @internal
 */
export const make = (service: string, options: { readonly strict?: boolean | undefined }): Validator => {
  const strict = options.strict ?? false
  const log = RateLimitedLog.make({ interval: "1 minute" })

  const reject = (field: string, value: unknown, expected: string): Effect.Effect<void, InvalidObservation> => {
    const fields = { service, field, value: show(value), expected }
    const counted = update(invalidObservations, { service, field }, 1)
    return strict
      ? Effect.andThen(counted, Effect.fail(new InvalidObservation(fields)))
      : Effect.andThen(counted, log.warn(`${service}/${field}`, messageOf(fields), { service, field }))
  }

  const checked = <A, B>(
    field: string,
    value: unknown,
    valid: (value: unknown) => value is A,
    expected: string,
    fallback: B
  ): Effect.Effect<A | B, InvalidObservation> =>
    valid(value) ? Effect.succeed(value) : Effect.as(reject(field, value, expected), fallback)

  return {
    reject,
    token: (field, value) => checked(field, value, isToken, tokenExpected, overflowLabel),
    id: (field, value) => checked(field, value, isToken, tokenExpected, undefined),
    // The list of what is allowed is only spelled out for a value that is not in it.
    oneOf: <const L extends string>(field: string, value: unknown, allowed: ReadonlyArray<L>) =>
      (allowed as ReadonlyArray<unknown>).includes(value)
        ? Effect.succeed(value as L)
        : Effect.as(reject(field, value, `one of ${allowed.join(", ")}`), overflowLabel),
    count: (field, value) => checked(field, value, isCount, "a whole number of at least 0", undefined),
    fraction: (field, value) => checked(field, value, isFraction, "a number between 0 and 1", undefined),
    text: (field, value) => checked(field, value, isText, "a string", undefined),
    list: (field, value, minLength = 0) =>
      checked(
        field,
        value,
        (v): v is ReadonlyArray<unknown> => Array.isArray(v) && v.length >= minLength,
        minLength === 0 ? "an array" : `an array of at least ${minLength}`,
        []
      )
  }
}
