/**
 * Attributes as they arrive from callers, made safe to keep and export: a
 * string, a finite number or a boolean passes, every string is cut to the
 * configured bound, anything else (a nested object, `NaN`, a `BigInt`, a
 * symbol) becomes its text, and what has no value (`null`, `undefined`, a
 * function) is left out. The static type says "primitives only"; this is for
 * JavaScript callers and `as any`, whose values must never fail or bloat an
 * operation. Secrets are redacted (see `Redaction`) before any value is cut,
 * so that a cut can never leave half a credential unrecognised.
 *
 * @internal
 */
import * as Inspectable from "effect/Inspectable"
import type { Attributes } from "../PerformanceMetrics.ts"
import type { Rules } from "../Redaction.ts"
import { defaultRules, redactValue } from "../Redaction.ts"

/**
 * `text` cut to at most `bound` UTF-16 units, the way OpenTelemetry's
 * attribute limit cuts, without splitting a surrogate pair.
 *
 * @internal
 */
export const cutText = (text: string, bound: number): string => {
  if (text.length <= bound) return text
  const end = isHighSurrogate(text.charCodeAt(bound - 1)) ? bound - 1 : bound
  return text.slice(0, end)
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

const isKept = (value: unknown, bound: number): boolean =>
  typeof value === "string"
    ? value.length <= bound
    : typeof value === "number"
    ? Number.isFinite(value)
    : typeof value === "boolean"

const safeValue = (key: string, value: unknown, bound: number, rules: Rules): string | number | boolean | undefined => {
  if (value === null || value === undefined || typeof value === "function") return undefined
  if (typeof value === "number" && Number.isFinite(value)) return redactValue(key, value, rules)
  if (typeof value === "boolean") return redactValue(key, value, rules)
  return cutText(redactValue(key, typeof value === "string" ? value : textOf(value), rules), bound)
}

const textOf = (value: unknown): string => {
  try {
    // A BigInt as its digits, the way @effect/opentelemetry exports one.
    return typeof value === "symbol" || typeof value === "bigint"
      ? value.toString()
      : Inspectable.toStringUnknown(value)
  } catch {
    // A getter that throws or a proxy that refuses: the value has no safe text.
    return "[unprintable]"
  }
}

// The safe form of each attributes object seen, for its bound and rules: a caller that hands over the same object on
// every operation (a call site's attributes, a prepared statement's) pays for one pass, once.
const madeSafe = new WeakMap<Attributes, { readonly bound: number; readonly rules: Rules; readonly safe: Attributes }>()

/**
 * The safe form of `attributes`; the same object when nothing needs to
 * change, which is the usual case and costs one pass, the first time an
 * object is seen.
 *
 * @internal
 */
export const safeAttributes = (
  attributes: Attributes | undefined,
  bound: number,
  rules: Rules = defaultRules
): Attributes | undefined => {
  if (attributes === undefined) return undefined
  const known = madeSafe.get(attributes)
  if (known !== undefined && known.bound === bound && known.rules === rules) return known.safe
  const safe = makeSafe(attributes, bound, rules)
  // A frozen object cannot change after it was checked; another one may, so only frozen ones are remembered.
  if (Object.isFrozen(attributes)) madeSafe.set(attributes, { bound, rules, safe })
  return safe
}

const makeSafe = (attributes: Attributes, bound: number, rules: Rules): Attributes => {
  try {
    if (
      Object.entries(attributes).every(([key, value]) =>
        key.length <= bound && isKept(value, bound) && redactValue(key, value, rules) === value
      )
    ) {
      return attributes
    }
    const safe: Record<string, string | number | boolean> = {}
    for (const [key, value] of Object.entries(attributes)) {
      const kept = safeValue(key, value, bound, rules)
      if (kept !== undefined) safe[cutText(key, bound)] = kept
    }
    return safe
  } catch {
    return {}
  }
}
