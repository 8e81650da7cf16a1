/**
 * `Profiler`: V8 CPU profiles and sampling heap profiles of a stretch of
 * work, written as files Chrome DevTools opens, and summarised (top
 * functions by self time, top allocating functions) for spans and logs.
 *
 * Core holds the interface, the profile formats and the summaries (the
 * deterministic test profiler is `TestProfiler` of `@mcp-apm/core/testing`); `NodeProfiler` in `@mcp-apm/runtime`
 * profiles with `node:inspector`. One profile at a time: a request that
 * arrives while another profile records is skipped and counted, never
 * queued, so that profiling can never pile up behind a slow profile.
 *
 * @since 0.1.0
 */
import { Context, Metric, Schema } from "effect"
import type { Effect, Option } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export type ProfileKind = "cpu" | "heap"

/**
 * A function as V8 reports it: line and column are 0-based.
 *
 * @category models
 * @since 0.1.0
 */
export interface CallFrame {
  readonly functionName: string
  readonly scriptId?: string | number | undefined
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

/**
 * A V8 CPU profile (`Profiler.stop` of the DevTools protocol): the contents
 * of a `.cpuprofile` file.
 *
 * @category models
 * @since 0.1.0
 */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<{
    readonly id: number
    readonly callFrame: CallFrame
    readonly hitCount?: number | undefined
    readonly children?: ReadonlyArray<number> | undefined
  }>
  readonly startTime: number
  readonly endTime: number
  readonly samples?: ReadonlyArray<number> | undefined
  readonly timeDeltas?: ReadonlyArray<number> | undefined
}

/**
 * A V8 sampling heap profile (`HeapProfiler.stopSampling`): the contents of a
 * `.heapprofile` file.
 *
 * @category models
 * @since 0.1.0
 */
export interface HeapProfile {
  readonly head: HeapProfileNode
}

/**
 * @category models
 * @since 0.1.0
 */
export interface HeapProfileNode {
  readonly callFrame: CallFrame
  readonly selfSize: number
  readonly id?: number | undefined
  readonly children: ReadonlyArray<HeapProfileNode>
}

/**
 * A function of a profile, 1-based `line` and `column` as editors count.
 *
 * @category models
 * @since 0.1.0
 */
export const ProfiledFunction = Schema.Struct({
  functionName: Schema.String,
  url: Schema.String,
  line: Schema.Int,
  column: Schema.Int
})

/**
 * A function and the CPU time spent in its own code.
 *
 * @category models
 * @since 0.1.0
 */
export const CpuHotspot = Schema.Struct({
  ...ProfiledFunction.fields,
  selfSeconds: Schema.Finite,
  selfPercent: Schema.Finite
})

/**
 * @category models
 * @since 0.1.0
 */
export interface CpuHotspot extends Schema.Schema.Type<typeof CpuHotspot> {}

/**
 * A function and the bytes it allocated that the sampling profiler saw.
 *
 * @category models
 * @since 0.1.0
 */
export const AllocationHotspot = Schema.Struct({
  ...ProfiledFunction.fields,
  selfBytes: Schema.Finite,
  selfPercent: Schema.Finite
})

/**
 * @category models
 * @since 0.1.0
 */
export interface AllocationHotspot extends Schema.Schema.Type<typeof AllocationHotspot> {}

/**
 * A recorded CPU profile: where it was written, and its top functions by
 * self time.
 *
 * @category models
 * @since 0.1.0
 */
export const CpuProfileSummary = Schema.Struct({
  file: Schema.String,
  durationSeconds: Schema.Finite,
  samples: Schema.Int,
  topFunctions: Schema.Array(CpuHotspot)
})

/**
 * @category models
 * @since 0.1.0
 */
export interface CpuProfileSummary extends Schema.Schema.Type<typeof CpuProfileSummary> {}

/**
 * A recorded heap profile: where it was written, the V8 heap in use before
 * and after (bytes), and the top allocating functions.
 *
 * @category models
 * @since 0.1.0
 */
export const HeapProfileSummary = Schema.Struct({
  file: Schema.String,
  heapUsedBefore: Schema.Finite,
  heapUsedAfter: Schema.Finite,
  sampledBytes: Schema.Finite,
  topAllocations: Schema.Array(AllocationHotspot)
})

/**
 * @category models
 * @since 0.1.0
 */
export interface HeapProfileSummary extends Schema.Schema.Type<typeof HeapProfileSummary> {}

/**
 * A profile being recorded; `stop` ends it, writes it and summarises it.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProfileRecording<S> {
  readonly stop: Effect.Effect<S, ProfilerError>
}

/**
 * Profiles recorded, skipped (another profile was recording) and files
 * removed to stay within the bound, since the profiler started.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProfilerStats {
  readonly recorded: { readonly cpu: number; readonly heap: number }
  readonly skipped: { readonly cpu: number; readonly heap: number }
  readonly filesRemoved: number
}

/**
 * The inspector or the file system failed while profiling.
 *
 * @category errors
 * @since 0.1.0
 */
export class ProfilerError extends Schema.TaggedError<ProfilerError>()("ProfilerError", {
  kind: Schema.Literals(["cpu", "heap"]),
  message: Schema.String
}) {}

/**
 * @category models
 * @since 0.1.0
 */
export interface ProfilerService {
  /** Starts a CPU profile, or returns `None` (and counts a skip) while another profile records. */
  readonly startCpu: (label: string) => Effect.Effect<Option.Option<ProfileRecording<CpuProfileSummary>>, ProfilerError>
  /** Starts a sampling heap profile, or returns `None` (and counts a skip) while another profile records. */
  readonly startHeap: (
    label: string
  ) => Effect.Effect<Option.Option<ProfileRecording<HeapProfileSummary>>, ProfilerError>
  readonly stats: Effect.Effect<ProfilerStats>
}

/**
 * Names and descriptions of the profiler's metrics, labelled by `kind`
 * (`cpu` or `heap`).
 *
 * @category metrics
 * @since 0.1.0
 */
export const metricDefinitions = {
  recorded: { name: "apm_profiles_total", description: "Profiles recorded and written, by kind" },
  skipped: {
    name: "apm_profiles_skipped_total",
    description: "Profile requests skipped because another profile was recording, by kind"
  }
} as const

/**
 * The profiler.
 *
 * @category services
 * @since 0.1.0
 */
export class Profiler extends Context.Service<Profiler, ProfilerService>()("@mcp-apm/core/Profiler") {}

/**
 * Mutable counts behind `ProfilerStats`, exported as counters.
 *
 * @category constructors
 * @since 0.1.0
 */
export class ProfilerCounters {
  recordedCpu = 0
  recordedHeap = 0
  skippedCpu = 0
  skippedHeap = 0
  filesRemoved = 0

  count(kind: ProfileKind, outcome: "recorded" | "skipped"): void {
    if (outcome === "recorded") {
      if (kind === "cpu") this.recordedCpu++
      else this.recordedHeap++
    } else if (kind === "cpu") this.skippedCpu++
    else this.skippedHeap++
  }

  stats(): ProfilerStats {
    return {
      recorded: { cpu: this.recordedCpu, heap: this.recordedHeap },
      skipped: { cpu: this.skippedCpu, heap: this.skippedHeap },
      filesRemoved: this.filesRemoved
    }
  }

  /** Registers the counters in the registry of `context`; returns what removes them. */
  exportTo(context: Context.Context<never>): () => void {
    const ignore = () => {}
    const registrations = (["cpu", "heap"] as const).flatMap((kind) =>
      (["recorded", "skipped"] as const).map((outcome) => {
        const d = metricDefinitions[outcome]
        const counter = Metric.counter(d.name, { description: d.description, attributes: { kind }, incremental: true })
        return Metric.registerUnsafe(counter, context, {
          get: () => {
            const stats = this.stats()
            return { count: stats[outcome][kind], incremental: true }
          },
          update: ignore,
          modify: ignore
        })
      })
    )
    return () => registrations.forEach((r) => r.remove())
  }
}

const frameKey = (f: CallFrame) => `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`

const toFunction = (f: CallFrame) => ({
  functionName: f.functionName === "" ? "(anonymous)" : f.functionName,
  url: f.url,
  line: f.lineNumber + 1,
  column: f.columnNumber + 1
})

/** V8's bookkeeping nodes, which are no function of the program. */
const meta = new Set(["(root)", "(idle)"])

/**
 * The top `top` functions of a CPU profile by self time, one entry per
 * function (V8 lists a function once per call path). Self time is the sum of
 * the sample intervals that landed in the function, as DevTools counts it.
 *
 * @category summaries
 * @since 0.1.0
 */
export const summarizeCpuProfile = (
  profile: CpuProfile,
  top = 10
): { readonly durationSeconds: number; readonly samples: number; readonly topFunctions: ReadonlyArray<CpuHotspot> } => {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfMicros = new Map<number, number>()
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    // A sample's interval is the delta to the next sample.
    const micros = Math.max(0, deltas[i + 1] ?? 0)
    selfMicros.set(samples[i]!, (selfMicros.get(samples[i]!) ?? 0) + micros)
  }
  const byFunction = new Map<string, { frame: CallFrame; micros: number }>()
  let total = 0
  for (const [id, micros] of selfMicros) {
    const node = byNode.get(id)
    if (node === undefined || meta.has(node.callFrame.functionName)) continue
    total += micros
    const key = frameKey(node.callFrame)
    const entry = byFunction.get(key)
    if (entry === undefined) byFunction.set(key, { frame: node.callFrame, micros })
    else entry.micros += micros
  }
  const topFunctions = [...byFunction.values()]
    .filter((e) => e.micros > 0)
    .sort((a, b) => b.micros - a.micros)
    .slice(0, top)
    .map((e) => ({
      ...toFunction(e.frame),
      selfSeconds: e.micros / 1e6,
      selfPercent: total === 0 ? 0 : e.micros / total * 100
    }))
  return {
    durationSeconds: Math.max(0, profile.endTime - profile.startTime) / 1e6,
    samples: samples.length,
    topFunctions
  }
}

/**
 * The top `top` allocating functions of a sampling heap profile, by the
 * bytes sampled in their own frames, one entry per function.
 *
 * @category summaries
 * @since 0.1.0
 */
export const summarizeHeapProfile = (
  profile: HeapProfile,
  top = 10
): { readonly sampledBytes: number; readonly topAllocations: ReadonlyArray<AllocationHotspot> } => {
  const byFunction = new Map<string, { frame: CallFrame; bytes: number }>()
  let total = 0
  const stack: Array<HeapProfileNode> = [profile.head]
  while (stack.length > 0) {
    const node = stack.pop()!
    for (const child of node.children) stack.push(child)
    if (node.selfSize <= 0 || meta.has(node.callFrame.functionName)) continue
    total += node.selfSize
    const key = frameKey(node.callFrame)
    const entry = byFunction.get(key)
    if (entry === undefined) byFunction.set(key, { frame: node.callFrame, bytes: node.selfSize })
    else entry.bytes += node.selfSize
  }
  const topAllocations = [...byFunction.values()]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top)
    .map((e) => ({ ...toFunction(e.frame), selfBytes: e.bytes, selfPercent: total === 0 ? 0 : e.bytes / total * 100 }))
  return { sampledBytes: total, topAllocations }
}

/**
 * A hotspot as one line, `name (url:line:column)`, for span attributes and logs.
 *
 * @category summaries
 * @since 0.1.0
 */
export const describeFunction = (f: Schema.Schema.Type<typeof ProfiledFunction>): string =>
  `${f.functionName} (${f.url === "" ? "native" : f.url}:${f.line}:${f.column})`
