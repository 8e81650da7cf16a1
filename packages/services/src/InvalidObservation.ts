/**
 * The one typed error of the service APMs: a measurement that would corrupt
 * the metrics (a negative token count, a confidence outside [0, 1], an
 * unknown state, a label value that is not a bounded token) is rejected
 * with it instead of being recorded.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * `service` is the APM that rejected the input (`model_router`, ...), `field`
 * the argument, `value` what was given (cut short) and `expected` what would
 * have been accepted.
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
    return `${this.service}: invalid ${this.field}=${this.value}: expected ${this.expected}`
  }
}
