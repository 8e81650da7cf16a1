import { Effect, Metric } from "effect"

/** The state of the series `id` whose attributes include `attributes`, if any. */
export const seriesState = (id: string, attributes: Record<string, string>) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const found = snapshots.find((s) =>
      s.id === id &&
      Object.entries(attributes).every(([k, v]) => (s.attributes as Record<string, string> | undefined)?.[k] === v)
    )
    return found?.state as Record<string, unknown> | undefined
  })

/** A counter's count, or a gauge's value, for one operation. */
export const operationValue = (id: string, operationName: string) =>
  Effect.map(seriesState(id, { operation_name: operationName }), (state) =>
    state === undefined ? undefined : (state["count"] ?? state["value"]) as number)
