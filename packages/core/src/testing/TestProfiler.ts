/**
 * `TestProfiler`: a deterministic `Profiler` that records nothing real, so
 * that tests of sampled profiling see what a profile adds to a span and to
 * the profiler's counters without `node:inspector`.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Option } from "effect"
import type { Context } from "effect"
import type { ProfileKind, ProfileRecording, ProfilerService } from "../Profiler.ts"
import { Profiler, ProfilerCounters } from "../Profiler.ts"

/**
 * The test profiler: each recording succeeds at once with a fixed summary
 * naming its label (`topFunctions[0].functionName` is the label), files are
 * named `memory://<n>-<label>.cpuprofile` and bounded to `maxFiles` (the
 * oldest dropped), and a request while another recording is open is
 * skipped and counted, as in the Node profiler. Its counters join the
 * metric registry of the first fiber that asks for a profile, so that a test
 * that never profiles sees no profiler series.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: { readonly maxFiles?: number } = {}
): ProfilerService & { readonly files: () => ReadonlyArray<string> } => {
  const counters = new ProfilerCounters()
  let exported = false
  const maxFiles = options.maxFiles ?? 20
  const files: Array<string> = []
  let busy = false
  let sequence = 0
  const write = (label: string, extension: string) => {
    const file = `memory://${++sequence}-${label}.${extension}`
    files.push(file)
    while (files.length > maxFiles) {
      files.shift()
      counters.filesRemoved++
    }
    return file
  }
  const frame = (label: string) => ({ functionName: label, url: "memory://test", line: 1, column: 1 })
  const start = <S>(kind: ProfileKind, summary: () => S) =>
    Effect.contextWith((context: Context.Context<never>): Effect.Effect<Option.Option<ProfileRecording<S>>> => {
      if (!exported) {
        exported = true
        counters.exportTo(context)
      }
      if (busy) {
        counters.count(kind, "skipped")
        return Effect.succeed(Option.none())
      }
      busy = true
      return Effect.succeed(Option.some({
        stop: Effect.sync(() => {
          busy = false
          counters.count(kind, "recorded")
          return summary()
        })
      }))
    })
  return {
    startCpu: (label) =>
      start("cpu", () => ({
        file: write(label, "cpuprofile"),
        durationSeconds: 0,
        samples: 1,
        topFunctions: [{ ...frame(label), selfSeconds: 0, selfPercent: 100 }]
      })),
    startHeap: (label) =>
      start("heap", () => ({
        file: write(label, "heapprofile"),
        heapUsedBefore: 0,
        heapUsedAfter: 0,
        sampledBytes: 0,
        topAllocations: [{ ...frame(label), selfBytes: 0, selfPercent: 100 }]
      })),
    stats: Effect.sync(() => counters.stats()),
    files: () => [...files]
  }
}

/**
 * The test profiler as `Profiler`; see `make`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: { readonly maxFiles?: number } = {}): Layer.Layer<Profiler> =>
  Layer.sync(Profiler, () => make(options))
