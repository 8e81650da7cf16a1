import { Effect, Metric } from "effect"

/** The state of the series `id` whose attributes include `attributes`, if any. */
export const seriesState = (id: string, attributes: Record<string, string> = {}) =>
  Effect.map(Metric.snapshot, (snapshots) => {
    const found = snapshots.find((s) =>
      s.id === id &&
      Object.entries(attributes).every(([k, v]) => (s.attributes as Record<string, string> | undefined)?.[k] === v)
    )
    return found?.state as Record<string, unknown> | undefined
  })

/** A counter's count or a gauge's value, in the series matching `attributes`. */
export const seriesValue = (id: string, attributes: Record<string, string> = {}) =>
  Effect.map(seriesState(id, attributes), (state) =>
    state === undefined ? undefined : (state["count"] ?? state["value"]) as number)

/** Every series of `id`, as its attributes and state. */
export const series = (id: string) =>
  Effect.map(Metric.snapshot, (snapshots) =>
    snapshots.filter((s) => s.id === id).map((s) => ({
      attributes: (s.attributes ?? {}) as Record<string, string>,
      state: s.state as unknown as Record<string, unknown>
    })))
