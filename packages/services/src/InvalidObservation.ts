/**
 * The typed error of a service APM layer built with `{ strict: true }`: a
 * measurement that would corrupt the metrics (a negative token count, a
 * confidence outside [0, 1], an unknown state, a label value that is not a
 * bounded token) fails the traced effect with it. Tests use strict layers to
 * see such a mistake at once.
 *
 * By default no service APM fails with it: the value is folded into `other`
 * or dropped, counted in `apm_invalid_observations_total` and warned about
 * (at most once a minute per service and field, with this error's message),
 * and the traced effect's outcome is left as it was. The `E | InvalidObservation`
 * in the services' signatures is there for the strict layers.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * `service` is the APM that rejected the input (`model_router`, ...), `field`
 * the argument or result field, `value` what was given (cut short) and
 * `expected` what would have been accepted.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidObservation extends Schema.TaggedError<InvalidObservation>()("InvalidObservation", {
  service: Schema.String,
  field: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return messageOf(this)
  }
}

/**
 * The message of an `InvalidObservation` with these fields, without making
 * one: the default (non-strict) layers warn with it, and an error with its
 * schema check and stack trace would cost every bad value far more.
 *
 * @category errors
 * @since 0.1.0
 */
export const messageOf = (fields: {
  readonly service: string
  readonly field: string
  readonly value: string
  readonly expected: string
}): string => `${fields.service}: invalid ${fields.field}=${fields.value}: expected ${fields.expected}`
