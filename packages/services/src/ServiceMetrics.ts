/**
 * The metrics every service APM shares, as opposed to the ones each service
 * defines beside its operations. Their names and labels are part of the
 * contract, like the services' own.
 *
 * @since 0.1.0
 */

/**
 * Name and description of each shared metric.
 *
 * `apm_invalid_observations_total` counts what the service APMs were given
 * and could not record as it was (a confidence of 1.5, a model name with a
 * newline, a negative token count), labelled by `service` (`model_router`,
 * ...) and `field` (the argument or result field). Such a value is folded
 * or dropped, never allowed to fail the traced effect (unless the layer is
 * `strict`, whose rejections are counted too).
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  invalidObservations: {
    name: "apm_invalid_observations_total",
    description:
      "Observations the service APMs could not record as given (folded into other, dropped, or rejected by a strict layer), by service and field"
  }
} as const
