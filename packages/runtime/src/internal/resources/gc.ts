/**
 * The garbage-collector probe: a `gc` performance observer that counts
 * collections and their pauses by kind, cumulatively, and feeds the
 * `v8js_gc_duration_seconds` histogram (OpenTelemetry `v8js.gc.duration`).
 * Releasing the scope disconnects the observer and removes the histogram's
 * series.
 */
import { ReadOnlyMetric } from "@mcp-apm/core"
import { Effect, Metric } from "effect"
import { constants, PerformanceObserver } from "node:perf_hooks"

/** GC kinds as OpenTelemetry's `v8js.gc.type` names them. */
export const gcTypes = ["major", "minor", "incremental", "weakcb"] as const

export type GcType = (typeof gcTypes)[number]

/** Collections of each kind and their total pause in seconds, since the observer started. */
export type GcCounters = Readonly<Record<GcType, { readonly count: number; readonly pauseSeconds: number }>>

/**
 * @category models
 */
interface GcProbe {
  /** A snapshot of the counters; `undefined` where the platform has no `gc` entries to observe. */
  readonly counters: () => GcCounters | undefined
}

const gcTypeOf = (kind: number): GcType | undefined => {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return "major"
    case constants.NODE_PERFORMANCE_GC_MINOR:
    case constants.NODE_PERFORMANCE_GC_MINOR_MARK_SWEEP:
      return "minor"
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return "incremental"
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return "weakcb"
    default:
      return undefined
  }
}

/** OpenTelemetry's recommended buckets for `v8js.gc.duration`, in seconds. */
const gcBuckets: ReadonlyArray<number> = [0.01, 0.1, 1, 10]

const durationHistogram = (type: GcType) =>
  Metric.histogram("v8js_gc_duration_seconds", {
    description: "Garbage collection duration, in seconds, by kind (OpenTelemetry v8js.gc.duration)",
    attributes: { "v8js.gc.type": type },
    boundaries: gcBuckets
  })

/** Starts observing; the histogram is published only where collections can be observed. */
export const make = Effect.fnUntraced(function*() {
  const context = yield* Effect.context<never>()
  const totals = new Map(gcTypes.map((type) => [type, { count: 0, pauseSeconds: 0 }]))
  const histograms = new Map(gcTypes.map((type) => [type, new ReadOnlyMetric.HistogramSeries(gcBuckets)]))
  const watched = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const type = gcTypeOf((entry as { detail?: { kind?: number } }).detail?.kind ?? -1)
          if (type === undefined) continue
          const seconds = entry.duration / 1000
          const total = totals.get(type)!
          total.count++
          total.pauseSeconds += seconds
          histograms.get(type)!.add(seconds)
        }
      })
      try {
        observer.observe({ entryTypes: ["gc"] })
        return { observer, watched: true }
      } catch {
        return { observer, watched: false }
      }
    }),
    ({ observer }) => Effect.sync(() => observer.disconnect())
  ).pipe(Effect.map(({ watched }) => watched))
  if (!watched) return { counters: () => undefined } satisfies GcProbe
  const registrations = gcTypes.map((type) =>
    ReadOnlyMetric.registerReadOnly(durationHistogram(type), context, () => histograms.get(type)!.state())
  )
  yield* Effect.addFinalizer(() => Effect.sync(() => registrations.forEach((r) => r.remove())))
  const snapshot = (type: GcType) => ({ ...totals.get(type)! })
  return {
    counters: () => ({
      major: snapshot("major"),
      minor: snapshot("minor"),
      incremental: snapshot("incremental"),
      weakcb: snapshot("weakcb")
    })
  } satisfies GcProbe
})
