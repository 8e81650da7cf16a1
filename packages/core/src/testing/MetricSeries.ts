/**
 * `MetricSeries`: reads one series of the metric registry in context
 * (`ApmTest`'s own in tests), so that a test asserts on what a scrape would
 * show without formatting and parsing an exposition.
 *
 * @since 0.1.0
 */
import { Effect, Metric } from "effect"

/**
 * The state of the metric series `id` whose attributes include `attributes`,
 * if there is one.
 *
 * @category accessors
 * @since 0.1.0
 */
export const state = (
  id: string,
  attributes: Readonly<Record<string, string>> = {}
): Effect.Effect<Readonly<Record<string, unknown>> | undefined> =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const found = snapshots.find((s) =>
      s.id === id &&
      Object.entries(attributes).every(([k, v]) => (s.attributes as Record<string, string> | undefined)?.[k] === v)
    )
    return found?.state as Record<string, unknown> | undefined
  })

/**
 * A counter's count or a gauge's value in the series `id` matching
 * `attributes`, if there is one.
 *
 * @example
 * ```ts
 * import { MetricSeries } from "@mcp-apm/core/testing"
 *
 * const calls = Effect.gen(function*() {
 *   return yield* MetricSeries.value("apm_operations_total", { operation_name: "user_login" })
 * })
 * ```
 *
 * @category accessors
 * @since 0.1.0
 */
export const value = (
  id: string,
  attributes: Readonly<Record<string, string>> = {}
): Effect.Effect<number | undefined> =>
  Effect.map(
    state(id, attributes),
    (found) => found === undefined ? undefined : (found["count"] ?? found["value"]) as number
  )
