import { Effect, Metric } from "effect"

/** Every series of `id`, as its attributes and state. */
export const series = (id: string) =>
  Effect.map(Metric.snapshot, (snapshots) =>
    snapshots.filter((s) => s.id === id).map((s) => ({
      attributes: (s.attributes ?? {}) as Record<string, string>,
      state: s.state as unknown as Record<string, unknown>
    })))
