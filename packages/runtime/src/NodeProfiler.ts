/**
 * The Node implementation of `Profiler`, over `node:inspector`: CPU profiles
 * (`Profiler.start`/`stop`) written as `.cpuprofile` files and sampling heap
 * profiles (`HeapProfiler.startSampling`/`stopSampling`) written as
 * `.heapprofile` files, both of which Chrome DevTools opens, into a
 * directory that holds at most `maxFiles` of each (the oldest removed).
 *
 * One profile records at a time in the whole process (a CPU profile
 * attributes every function that runs, so two overlapping profiles would
 * describe the same work twice): a request while one records is skipped and
 * counted in `apm_profiles_skipped_total`.
 *
 * @since 0.1.0
 */
import * as Profiler from "@mcp-apm/core/Profiler"
import { Effect, Layer, Option } from "effect"
import * as fs from "node:fs/promises"
import { Session } from "node:inspector/promises"
import * as os from "node:os"
import * as path from "node:path"

/**
 * @category models
 * @since 0.1.0
 */
export interface NodeProfilerOptions {
  /** Where profiles are written; `<tmpdir>/mcp-apm-profiles` by default. */
  readonly directory?: string | undefined
  /** Files kept of each kind; 20 by default. */
  readonly maxFiles?: number | undefined
  /** CPU sampling interval in microseconds; V8's 1000 by default. */
  readonly cpuSamplingInterval?: number | undefined
  /** Mean bytes between heap samples; V8's 32768 by default. */
  readonly heapSamplingInterval?: number | undefined
  /** Functions kept in a summary; 10 by default. */
  readonly top?: number | undefined
}

/**
 * The default profile directory.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultDirectory = path.join(os.tmpdir(), "mcp-apm-profiles")

// Process-wide, not per layer: two layers in one process share one V8.
let busy = false
let sequence = 0

const extensions: Record<Profiler.ProfileKind, string> = { cpu: "cpuprofile", heap: "heapprofile" }

/** A label as a file-name part: letters, digits, `_`, `-` and `.`, at most 48. */
const fileLabel = (label: string): string => label.replace(/[^\w.-]+/g, "_").slice(0, 48) || "profile"

/** `apm-<epoch ms>-<sequence>-<pid>-<label>.<ext>`: names sort oldest first. */
const profileFile = (directory: string, label: string, kind: Profiler.ProfileKind): string =>
  path.join(
    directory,
    `apm-${String(Date.now()).padStart(13, "0")}-${String(++sequence).padStart(6, "0")}-${process.pid}-${
      fileLabel(label)
    }.${extensions[kind]}`
  )

/** Removes the oldest profiles of `kind` beyond `maxFiles`; returns how many went. */
const prune = async (directory: string, kind: Profiler.ProfileKind, maxFiles: number): Promise<number> => {
  const suffix = `.${extensions[kind]}`
  const files = (await fs.readdir(directory)).filter((f) => f.startsWith("apm-") && f.endsWith(suffix)).sort()
  const excess = files.slice(0, Math.max(0, files.length - maxFiles))
  await Promise.all(excess.map((f) => fs.rm(path.join(directory, f), { force: true })))
  return excess.length
}

/**
 * Builds the profiler over `options`, its counters exported to the metric
 * registry in context.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(options: NodeProfilerOptions = {}) {
  const directory = options.directory ?? defaultDirectory
  const maxFiles = Math.max(1, options.maxFiles ?? 20)
  const top = options.top ?? 10
  const counters = new Profiler.ProfilerCounters()
  const context = yield* Effect.context<never>()
  yield* Effect.acquireRelease(Effect.sync(() => counters.exportTo(context)), (remove) => Effect.sync(remove))

  const failure = (kind: Profiler.ProfileKind) => (cause: unknown) =>
    new Profiler.ProfilerError({ kind, message: cause instanceof Error ? cause.message : String(cause) })

  /**
   * Claims the inspector, or counts a skip. The claim is released by `stop`
   * whatever happens, so a failed profile never wedges the profiler.
   */
  const start = <S>(
    kind: Profiler.ProfileKind,
    label: string,
    begin: (session: Session) => Promise<void>,
    end: (session: Session, file: string) => Promise<S>
  ): Effect.Effect<Option.Option<Profiler.ProfileRecording<S>>, Profiler.ProfilerError> =>
    Effect.suspend(() => {
      if (busy) {
        counters.count(kind, "skipped")
        return Effect.succeed(Option.none())
      }
      busy = true
      const session = new Session()
      const release = () => {
        try {
          session.disconnect()
        } finally {
          busy = false
        }
      }
      return Effect.tryPromise({
        try: async () => {
          session.connect()
          await begin(session)
        },
        catch: failure(kind)
      }).pipe(
        Effect.tapError(() => Effect.sync(release)),
        Effect.as(Option.some<Profiler.ProfileRecording<S>>({
          stop: Effect.tryPromise({
            try: async () => {
              try {
                await fs.mkdir(directory, { recursive: true })
                const summary = await end(session, profileFile(directory, label, kind))
                counters.count(kind, "recorded")
                counters.filesRemoved += await prune(directory, kind, maxFiles)
                return summary
              } finally {
                release()
              }
            },
            catch: failure(kind)
          })
        }))
      )
    })

  return Profiler.Profiler.of({
    startCpu: (label) =>
      start(
        "cpu",
        label,
        async (session) => {
          await session.post("Profiler.enable")
          await session.post("Profiler.setSamplingInterval", { interval: options.cpuSamplingInterval ?? 1000 })
          await session.post("Profiler.start")
        },
        async (session, file) => {
          const { profile } = await session.post("Profiler.stop")
          await session.post("Profiler.disable")
          await fs.writeFile(file, JSON.stringify(profile))
          return { file, ...Profiler.summarizeCpuProfile(profile as Profiler.CpuProfile, top) }
        }
      ),
    startHeap: (label) => {
      let heapUsedBefore = 0
      return start(
        "heap",
        label,
        async (session) => {
          heapUsedBefore = process.memoryUsage().heapUsed
          await session.post("HeapProfiler.enable")
          await session.post("HeapProfiler.startSampling", {
            samplingInterval: options.heapSamplingInterval ?? 32768,
            // Count what was allocated during the run, not only what survived it.
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true
          })
        },
        async (session, file) => {
          const heapUsedAfter = process.memoryUsage().heapUsed
          const { profile } = await session.post("HeapProfiler.stopSampling")
          await session.post("HeapProfiler.disable")
          await fs.writeFile(file, JSON.stringify(profile))
          return {
            file,
            heapUsedBefore,
            heapUsedAfter,
            ...Profiler.summarizeHeapProfile(profile as Profiler.HeapProfile, top)
          }
        }
      )
    },
    stats: Effect.sync(() => counters.stats())
  })
})

/**
 * The Node profiler as a layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: NodeProfilerOptions = {}): Layer.Layer<Profiler.Profiler> =>
  Layer.effect(Profiler.Profiler, make(options))
