/**
 * Validation shared by the service APMs. Each check either returns the value
 * or fails with `InvalidObservation`, so that bad input never reaches a
 * metric.
 *
 * @internal
 */
import { Effect } from "effect"
import { InvalidObservation } from "../InvalidObservation.ts"

const maxShownValue = 80

const show = (value: unknown): string => {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value)
  return text.length <= maxShownValue ? text : text.slice(0, maxShownValue - 1) + "…"
}

/** @internal */
export const reject = (
  service: string,
  field: string,
  value: unknown,
  expected: string
): Effect.Effect<never, InvalidObservation> =>
  Effect.fail(new InvalidObservation({ service, field, value: show(value), expected }))

/**
 * What a label value may look like: a short identifier-like token. Anything
 * else (spaces, newlines, long text) is free text, which must not become a
 * label or an operation name.
 */
const tokenPattern = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/

/** @internal */
export const token = (service: string, field: string, value: string): Effect.Effect<string, InvalidObservation> =>
  typeof value === "string" && tokenPattern.test(value)
    ? Effect.succeed(value)
    : reject(service, field, value, "a name of letters, digits and . _ : / @ + - (at most 128 characters)")

/** @internal */
export const oneOf = <const L extends string>(
  service: string,
  field: string,
  value: string,
  allowed: ReadonlyArray<L>
): Effect.Effect<L, InvalidObservation> =>
  (allowed as ReadonlyArray<string>).includes(value)
    ? Effect.succeed(value as L)
    : reject(service, field, value, `one of ${allowed.join(", ")}`)

/** @internal */
export const count = (service: string, field: string, value: number): Effect.Effect<number, InvalidObservation> =>
  Number.isSafeInteger(value) && value >= 0
    ? Effect.succeed(value)
    : reject(service, field, value, "a whole number of at least 0")

/** @internal */
export const fraction = (service: string, field: string, value: number): Effect.Effect<number, InvalidObservation> =>
  Number.isFinite(value) && value >= 0 && value <= 1
    ? Effect.succeed(value)
    : reject(service, field, value, "a number between 0 and 1")
