/**
 * What shape an anomaly has: a `spike` is one sample far outside what the
 * series does; a `shift` is a sustained change of its level or of its tail.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export const AnomalyKind = Schema.Literals(["spike", "shift"])

/**
 * @category models
 * @since 0.1.0
 */
export type AnomalyKind = typeof AnomalyKind.Type
