/**
 * OpenTelemetry's `error.type`: what kind of error ended an operation, as a
 * low-cardinality value fit for a span attribute and a metric label. It is
 * the error's `_tag` (Effect's tagged errors), else its class name, else
 * `_OTHER`, the convention's fallback; never the message, which carries
 * data.
 *
 * @since 0.1.0
 */
import { Cause, Exit, Result } from "effect"

/**
 * The value for an error of no known type, and the value past a cap.
 *
 * @category constants
 * @since 0.1.0
 */
export const other = "_OTHER"

/**
 * The longest `error.type` kept; a longer tag or class name is `_OTHER`.
 *
 * @category constants
 * @since 0.1.0
 */
export const maxLength = 64

const bounded = (name: unknown): string | undefined =>
  typeof name === "string" && name !== "" && name.length <= maxLength && /^[\w.$:-]+$/.test(name) ? name : undefined

/**
 * The `error.type` of a failure or defect value.
 *
 * @example
 * ```ts
 * class UserNotFound extends Data.TaggedError("UserNotFound")<{ readonly id: string }> {}
 *
 * ErrorType.of(new UserNotFound({ id: "42" })) // "UserNotFound"
 * ErrorType.of(new TypeError("x"))             // "TypeError"
 * ErrorType.of("boom")                         // "_OTHER"
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const of = (value: unknown): string => {
  if (typeof value !== "object" || value === null) return other
  const tagged = bounded((value as { readonly _tag?: unknown })._tag)
  if (tagged !== undefined) return tagged
  const constructor = Object.getPrototypeOf(value)?.constructor as { readonly name?: unknown } | undefined
  return constructor === Object || constructor === undefined ? other : bounded(constructor.name) ?? other
}

/**
 * The `error.type` of an exit that failed or died; `undefined` for a
 * success or an interruption, which is not an error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromExit = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const error = Cause.findError(exit.cause)
  if (Result.isSuccess(error)) return of(error.success)
  const defect = Cause.findDefect(exit.cause)
  return Result.isSuccess(defect) ? of(defect.success) : undefined
}
