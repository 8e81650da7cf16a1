/**
 * What normal looks like for each operation: the last `baselineWindowSize`
 * durations and the baseline computed from them (mean, median, p95, p99,
 * stddev), refreshed every `baselineUpdateInterval` and as soon as an
 * operation first has `baselineMinSamples` samples.
 *
 * The baseline lags the window on purpose: between refreshes it is a fixed
 * reference that the current samples can be compared with, which a baseline
 * recomputed on every sample would not be (a slowdown would drag it along).
 * `layerPersistent` keeps what was learned across restarts, so that a
 * restart does not raise anomalies while the baselines fill up again.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, FileSystem, Layer, Path, Schedule, Schema } from "effect"
import { mean, quantileSorted, sampleStandardDeviation } from "simple-statistics"
import { ApmConfig } from "./ApmConfig.ts"
import type { ApmOptions } from "./ApmConfig.ts"
import { OperationType, operationTypes } from "./OperationType.ts"
import type { PerformanceMetrics } from "./PerformanceMetrics.ts"

/**
 * The baseline of one operation. Durations in seconds, `updatedAt` in epoch
 * milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export const PerformanceBaseline = Schema.Struct({
  operationName: Schema.String,
  operationType: OperationType,
  mean: Schema.Finite,
  median: Schema.Finite,
  p95: Schema.Finite,
  p99: Schema.Finite,
  stddev: Schema.Finite,
  sampleCount: Schema.Int,
  updatedAt: Schema.Finite
})

/**
 * @category models
 * @since 0.1.0
 */
export interface PerformanceBaseline extends Schema.Schema.Type<typeof PerformanceBaseline> {}

const snapshotFormat = "mcp-apm/baselines"

/**
 * The persisted form: each operation's window and its last baseline.
 *
 * @category models
 * @since 0.1.0
 */
export const BaselineSnapshot = Schema.Struct({
  format: Schema.Literal(snapshotFormat),
  version: Schema.Literal(1),
  savedAt: Schema.Finite,
  operations: Schema.Array(Schema.Struct({
    operationName: Schema.String,
    operationType: OperationType,
    samples: Schema.Array(Schema.Finite),
    baseline: Schema.optionalKey(PerformanceBaseline)
  }))
})

/**
 * @category models
 * @since 0.1.0
 */
export type BaselineSnapshot = typeof BaselineSnapshot.Type

const decodeSnapshot = Schema.decodeUnknownEffect(Schema.fromJsonString(BaselineSnapshot))

class Window {
  readonly name: string
  readonly type: OperationType
  private readonly samples: Float64Array
  private next = 0
  baseline: PerformanceBaseline | undefined = undefined
  constructor(name: string, type: OperationType, size: number) {
    this.name = name
    this.type = type
    this.samples = new Float64Array(size)
  }
  get count(): number {
    return Math.min(this.next, this.samples.length)
  }
  add(duration: number): void {
    this.samples[this.next % this.samples.length] = duration
    this.next++
  }
  /** The `count` most recent durations, oldest first. */
  recent(count: number): Array<number> {
    const n = Math.min(count, this.count)
    const out = new Array<number>(n)
    for (let i = 0; i < n; i++) out[i] = this.samples[(this.next - n + i) % this.samples.length]!
    return out
  }
  compute(now: number): void {
    const values = this.recent(this.count)
    const sorted = [...values].sort((a, b) => a - b)
    this.baseline = {
      operationName: this.name,
      operationType: this.type,
      mean: mean(values),
      median: quantileSorted(sorted, 0.5),
      p95: quantileSorted(sorted, 0.95),
      p99: quantileSorted(sorted, 0.99),
      stddev: values.length > 1 ? sampleStandardDeviation(values) : 0,
      sampleCount: values.length,
      updatedAt: now
    }
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface BaselineStoreService {
  /** Adds a finished operation to its window; cheap, called on every operation. */
  readonly observe: (record: PerformanceMetrics) => void
  /** The current baseline of an operation, if it has one. */
  readonly baselineOf: (operationName: string) => PerformanceBaseline | undefined
  /** The `count` most recent durations of an operation, oldest first. */
  readonly recentDurations: (operationName: string, count: number) => ReadonlyArray<number>
  readonly baselines: Effect.Effect<ReadonlyArray<PerformanceBaseline>>
  /** Recomputes every baseline from its window now. */
  readonly refresh: Effect.Effect<void>
  readonly snapshot: Effect.Effect<BaselineSnapshot>
}

/**
 * @category services
 * @since 0.1.0
 */
export class BaselineStore extends Context.Service<BaselineStore, BaselineStoreService>()(
  "@mcp-apm/core/BaselineStore"
) {}

/**
 * An in-memory store, optionally restored from a snapshot. Bounded: at most
 * `maxOperations` operations (plus one overflow entry per type), each with a
 * fixed-size window.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: ApmOptions, restored?: BaselineSnapshot): BaselineStoreService => {
  const windows = new Map<string, Window>()
  const capacity = options.maxOperations + operationTypes.length
  const windowOf = (name: string, type: OperationType): Window | undefined => {
    let window = windows.get(name)
    if (window === undefined && windows.size < capacity) {
      window = new Window(name, type, options.baselineWindowSize)
      windows.set(name, window)
    }
    return window
  }
  for (const operation of restored?.operations ?? []) {
    const window = windowOf(operation.operationName, operation.operationType)
    if (window === undefined) break
    for (const sample of operation.samples.slice(-options.baselineWindowSize)) window.add(sample)
    window.baseline = operation.baseline
  }
  const enabled = options.baselineEstimationEnabled
  const refreshAt = (now: number) => {
    for (const window of windows.values()) if (window.count > 0) window.compute(now)
  }
  return {
    observe: enabled
      ? (record) => {
        const window = windowOf(record.operationName, record.operationType)
        if (window === undefined) return
        window.add(record.duration)
        if (window.baseline === undefined && window.count >= options.baselineMinSamples) {
          window.compute(record.endTime)
        }
      }
      : () => {},
    baselineOf: (name) => windows.get(name)?.baseline,
    recentDurations: (name, count) => windows.get(name)?.recent(count) ?? [],
    baselines: Effect.sync(() => {
      const out: Array<PerformanceBaseline> = []
      for (const window of windows.values()) if (window.baseline !== undefined) out.push(window.baseline)
      return out
    }),
    refresh: Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => refreshAt(now))),
    snapshot: Effect.map(Clock.currentTimeMillis, (savedAt) => ({
      format: snapshotFormat,
      version: 1,
      savedAt,
      operations: [...windows.values()].map((window) => ({
        operationName: window.name,
        operationType: window.type,
        samples: window.recent(window.count),
        ...(window.baseline === undefined ? {} : { baseline: window.baseline })
      }))
    }))
  } satisfies BaselineStoreService
}

const every = (options: ApmOptions, task: Effect.Effect<void>) =>
  options.baselineEstimationEnabled
    ? Effect.forkScoped(Effect.repeat(task, Schedule.spaced(`${options.baselineUpdateInterval} seconds`)).pipe(
      Effect.delay(`${options.baselineUpdateInterval} seconds`)
    ))
    : Effect.void

/**
 * The in-memory store over the `ApmConfig` in context, refreshed every
 * `baselineUpdateInterval` by a fiber that stops with the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<BaselineStore, never, ApmConfig> = Layer.effect(
  BaselineStore,
  Effect.gen(function*() {
    const options = yield* ApmConfig
    const store = make(options)
    yield* every(options, store.refresh)
    return store
  })
)

/**
 * Reads a snapshot file. A missing file is a fresh start; a truncated,
 * corrupt or foreign one is logged as a warning and also a fresh start: a
 * monitoring library must never stop its service from starting.
 *
 * @category persistence
 * @since 0.1.0
 */
export const load = (file: string): Effect.Effect<BaselineSnapshot | undefined, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(file))) return undefined
    const text = yield* fs.readFileString(file)
    return yield* decodeSnapshot(text)
  }).pipe(
    Effect.catch((error) =>
      Effect.as(
        Effect.logWarning(`Ignoring the baseline file ${file}, starting with fresh baselines: ${error.message}`),
        undefined
      )
    )
  )

/**
 * Writes a snapshot atomically (a temporary file renamed over the old one,
 * mode 0600), so that a crash mid-write leaves the previous snapshot whole.
 *
 * @category persistence
 * @since 0.1.0
 */
export const save = (
  file: string,
  snapshot: BaselineSnapshot
): Effect.Effect<void, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.dirname(file), { recursive: true })
    const temporary = `${file}.${snapshot.savedAt}.tmp`
    yield* fs.writeFileString(temporary, JSON.stringify(snapshot), { mode: 0o600 })
    yield* fs.chmod(temporary, 0o600)
    yield* fs.rename(temporary, file)
  }).pipe(
    Effect.catch((error) => Effect.logWarning(`Could not save the baselines to ${file}: ${error.message}`))
  )

/**
 * The store, restored from `file` on start and saved to it every
 * `baselineUpdateInterval` and when the layer is released.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPersistent = (
  file: string
): Layer.Layer<BaselineStore, never, ApmConfig | FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    BaselineStore,
    Effect.gen(function*() {
      const options = yield* ApmConfig
      const store = make(options, yield* load(file))
      const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
      const persist = Effect.flatMap(store.snapshot, (snapshot) => save(file, snapshot)).pipe(
        Effect.provideContext(context)
      )
      yield* Effect.addFinalizer(() => persist)
      yield* every(options, Effect.andThen(store.refresh, persist))
      return store
    })
  )
