/**
 * How bad an anomaly is, one scale for the detector, the records, the
 * `apm_anomalies_total{severity}` label and the shipped alert rules:
 *
 * - `INFO`: an isolated outlier, one operation far slower than the
 *   operation's own tail. Worth a look, never worth a page.
 * - `WARNING`: a slowdown or a grown tail, statistically certain, that is
 *   modest (the recent median under 1.5x the baseline's) or not yet
 *   sustained (flagged on fewer than half an anomaly window's operations).
 * - `ERROR`: a sustained slowdown to at least 1.5x the baseline median, or a
 *   sustained grown tail.
 * - `CRITICAL`: a sustained slowdown to at least 3x the baseline median.
 *
 * `ApmAnomalyRaised` fires on ERROR and CRITICAL only.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export const Severity = Schema.Literals(["INFO", "WARNING", "ERROR", "CRITICAL"])

/**
 * @category models
 * @since 0.1.0
 */
export type Severity = typeof Severity.Type

/**
 * The order of severities, for "the worst of an episode".
 *
 * @category constants
 * @since 0.1.0
 */
export const severityRank: Readonly<Record<Severity, number>> = { INFO: 0, WARNING: 1, ERROR: 2, CRITICAL: 3 }
