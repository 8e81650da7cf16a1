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
import { Clock, Context, Duration, Effect, FileSystem, Layer, Path, Result, Schedule, Schema } from "effect"
import { mean, quantileSorted, sampleStandardDeviation } from "simple-statistics"
import { ApmConfig } from "./ApmConfig.ts"
import type { ApmOptions } from "./ApmConfig.ts"
import * as AtomicFile from "./internal/atomicFile.ts"
import { OperationType, operationTypes } from "./OperationType.ts"
import { maxOperationNameLength } from "./PerformanceMetrics.ts"
import type { PerformanceMetrics } from "./PerformanceMetrics.ts"
import * as RateLimitedLog from "./RateLimitedLog.ts"

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
 * The longest duration a baseline takes, in seconds: a year. A larger one in a
 * file is a corrupt number, not an operation, and would overflow the
 * statistics and ratios computed from it.
 *
 * @category constants
 * @since 0.1.0
 */
export const longestDuration = 365 * 24 * 3600

const StoredDuration = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: longestDuration }))

/**
 * One operation of a snapshot: its window (oldest first), when it was last
 * seen (epoch milliseconds) and its last baseline. Every number is checked,
 * so that a hand-edited or damaged file cannot feed the detector a negative
 * duration or a count of 2.5.
 *
 * @category models
 * @since 0.1.0
 */
export const BaselineOperation = Schema.Struct({
  operationName: Schema.String.check(Schema.isNonEmpty(), Schema.isMaxLength(maxOperationNameLength)),
  operationType: OperationType,
  samples: Schema.Array(StoredDuration),
  lastSeenAt: Schema.optionalKey(Schema.Finite),
  baseline: Schema.optionalKey(Schema.Struct({
    ...PerformanceBaseline.fields,
    mean: StoredDuration,
    median: StoredDuration,
    p95: StoredDuration,
    p99: StoredDuration,
    stddev: StoredDuration,
    sampleCount: Schema.Int.check(Schema.isGreaterThan(0))
  }))
})

/**
 * @category models
 * @since 0.1.0
 */
export type BaselineOperation = typeof BaselineOperation.Type

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
  operations: Schema.Array(BaselineOperation)
})

/**
 * @category models
 * @since 0.1.0
 */
export type BaselineSnapshot = typeof BaselineSnapshot.Type

// The envelope first, then each operation on its own: one bad entry costs that entry, not the whole file.
const decodeEnvelope = Schema.decodeUnknownEffect(
  Schema.fromJsonString(Schema.Struct({ ...BaselineSnapshot.fields, operations: Schema.Array(Schema.Unknown) }))
)
const decodeOperation = Schema.decodeUnknownResult(BaselineOperation)

const conflictOf = (operation: BaselineOperation, seen: ReadonlySet<string>): string | undefined => {
  if (seen.has(operation.operationName)) return "a second entry of the same operation"
  const baseline = operation.baseline
  if (
    baseline !== undefined &&
    (baseline.operationName !== operation.operationName || baseline.operationType !== operation.operationType)
  ) return "a baseline of another operation"
  return undefined
}

/**
 * A snapshot decoded entry by entry: the valid operations, and how many were
 * dropped (invalid, a duplicate name, a baseline of another operation) with
 * the first reason.
 *
 * @category persistence
 * @since 0.1.0
 */
export const decodeSnapshot = (text: string): Effect.Effect<
  { readonly snapshot: BaselineSnapshot; readonly dropped: number; readonly firstProblem: string | undefined },
  Schema.SchemaError
> =>
  Effect.map(decodeEnvelope(text), (envelope) => {
    const operations: Array<BaselineOperation> = []
    const names = new Set<string>()
    let firstProblem: string | undefined
    for (const [index, entry] of envelope.operations.entries()) {
      const decoded = decodeOperation(entry)
      const problem = Result.isFailure(decoded) ? decoded.failure.message : conflictOf(decoded.success, names)
      if (problem === undefined && Result.isSuccess(decoded)) {
        names.add(decoded.success.operationName)
        operations.push(decoded.success)
      } else {
        firstProblem ??= `operations[${index}]: ${problem?.replaceAll(/\s+/g, " ")}`
      }
    }
    return {
      snapshot: { ...envelope, operations },
      dropped: envelope.operations.length - operations.length,
      firstProblem
    }
  })

class Window {
  readonly name: string
  readonly type: OperationType
  private readonly samples: Float64Array
  private next = 0
  baseline: PerformanceBaseline | undefined = undefined
  /** Epoch milliseconds of the last observation: the least recently seen window is evicted first. */
  lastSeen: number
  constructor(name: string, type: OperationType, size: number, lastSeen: number) {
    this.name = name
    this.type = type
    this.samples = new Float64Array(size)
    this.lastSeen = lastSeen
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

const isStorable = (duration: number): boolean => duration >= 0 && duration <= longestDuration

/**
 * An in-memory store, optionally restored from a snapshot. Bounded: at most
 * `maxOperations` operations (plus one per type, room for the overflow
 * entries), each with a fixed-size window. When it is full, a new operation
 * takes the place of the least recently seen one, so that names nobody uses
 * any more (restored from a file, restart after restart) give way to the
 * current ones. Names longer than `maxOperationNameLength` and durations that
 * are negative, not finite or longer than `longestDuration` are refused.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: ApmOptions, restored?: BaselineSnapshot): BaselineStoreService => {
  const windows = new Map<string, Window>()
  const capacity = options.maxOperations + operationTypes.length
  const evictLeastRecent = () => {
    let oldest: Window | undefined
    for (const window of windows.values()) {
      if (oldest === undefined || window.lastSeen < oldest.lastSeen) oldest = window
    }
    windows.delete(oldest!.name)
  }
  const windowOf = (name: string, type: OperationType, seenAt: number): Window | undefined => {
    let window = windows.get(name)
    if (window === undefined) {
      if (name.length > maxOperationNameLength) return undefined
      if (windows.size >= capacity) evictLeastRecent()
      window = new Window(name, type, options.baselineWindowSize, seenAt)
      windows.set(name, window)
    }
    return window
  }
  if (restored !== undefined) {
    // A time past the snapshot's own is a wrong clock or a forged file; left alone it would never be evicted.
    const lastSeenOf = (operation: BaselineOperation) =>
      Math.min(operation.lastSeenAt ?? operation.baseline?.updatedAt ?? restored.savedAt, restored.savedAt)
    const recentFirst = restored.operations
      .filter((operation) => operation.samples.length > 0 || operation.baseline !== undefined)
      .sort((a, b) => lastSeenOf(b) - lastSeenOf(a))
      .slice(0, capacity)
    for (const operation of recentFirst.reverse()) {
      const window = windowOf(operation.operationName, operation.operationType, lastSeenOf(operation))
      if (window === undefined) continue
      for (const sample of operation.samples.slice(-options.baselineWindowSize)) window.add(sample)
      window.baseline = operation.baseline
    }
  }
  const enabled = options.baselineEstimationEnabled
  const refreshAt = (now: number) => {
    for (const window of windows.values()) if (window.count > 0) window.compute(now)
  }
  return {
    observe: enabled
      ? (record) => {
        if (!isStorable(record.duration)) return
        const window = windowOf(record.operationName, record.operationType, record.endTime)
        if (window === undefined) return
        window.lastSeen = record.endTime
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
        lastSeenAt: window.lastSeen,
        ...(window.baseline === undefined ? {} : { baseline: window.baseline })
      }))
    }))
  } satisfies BaselineStoreService
}

const every = (options: ApmOptions, task: Effect.Effect<void>) =>
  options.baselineEstimationEnabled
    ? Effect.forkScoped(
      Effect.repeat(task, Schedule.spaced(`${options.baselineUpdateInterval} seconds`)).pipe(
        Effect.delay(`${options.baselineUpdateInterval} seconds`)
      )
    )
    : Effect.void

const inMemory = Effect.fnUntraced(function*(options: ApmOptions) {
  const store = make(options)
  yield* every(options, store.refresh)
  return store
})

/**
 * The in-memory store over the `ApmConfig` in context, refreshed every
 * `baselineUpdateInterval` by a fiber that stops with the layer.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<BaselineStore, never, ApmConfig> = Layer.effect(
  BaselineStore,
  Effect.flatMap(ApmConfig, inMemory)
)

/**
 * How the baseline file is handled.
 *
 * @category models
 * @since 0.1.0
 */
export interface PersistenceOptions {
  /** The longest one file operation (a stat, a read, a write, a rename) may take; 1 second by default. */
  readonly timeout?: Duration.Input | undefined
  /** The process id, part of the temporary file's name so that processes sharing one file never collide. */
  readonly processId?: number | undefined
}

const fileOptions = (persistence: PersistenceOptions): AtomicFile.FileOptions => ({
  timeout: Duration.fromInputUnsafe(persistence.timeout ?? "1 second"),
  processId: persistence.processId
})

/**
 * The largest file a snapshot under `options` can be: every operation with a
 * full window of long numbers, its name escaped at six bytes a character.
 * Anything larger was not written by this store, and is not read.
 *
 * @category persistence
 * @since 0.1.0
 */
export const maxFileBytes = (options: ApmOptions): number =>
  (options.maxOperations + operationTypes.length) *
    (options.baselineWindowSize * 25 + maxOperationNameLength * 12 + 600) +
  200

/**
 * Reads a snapshot file. A missing file is a fresh start; an unreadable,
 * oversized, truncated, corrupt or foreign one is one warning and a fresh
 * start; invalid entries are dropped with one warning that says how many: a
 * monitoring library must never stop its service from starting.
 *
 * @category persistence
 * @since 0.1.0
 */
export const load = (
  file: string,
  options: ApmOptions,
  persistence: PersistenceOptions = {}
): Effect.Effect<BaselineSnapshot | undefined, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const text = yield* AtomicFile.read(file, maxFileBytes(options), fileOptions(persistence))
    if (text === undefined) return undefined
    const { dropped, firstProblem, snapshot } = yield* decodeSnapshot(text)
    if (dropped > 0) {
      yield* Effect.logWarning(
        `Dropped ${dropped} of ${
          snapshot.operations.length + dropped
        } entries of the baseline file ${file} (${firstProblem})`
      )
    }
    return snapshot
  }).pipe(
    Effect.catch((error) =>
      Effect.as(
        Effect.logWarning(`Ignoring the baseline file ${file}, starting with fresh baselines: ${error.message}`),
        undefined
      )
    )
  )

// A leftover this old cannot belong to a writer still at work: a write is bounded by the timeout.
const leftoverAge = Duration.minutes(1)

/**
 * The store, restored from `file` on start and saved to it on start (so that
 * a path that cannot be written is said at once), every
 * `baselineUpdateInterval` and when the layer is released. Nothing here can
 * fail, hang or slow the application beyond `timeout` per file operation: a
 * failure is a warning (one an hour for repeated save failures) and the
 * baselines stay in memory. A path that is not a regular file (a directory, a
 * device) is never written. Temporary files of earlier runs are removed.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerPersistent = (
  file: string,
  persistence: PersistenceOptions = {}
): Layer.Layer<BaselineStore, never, ApmConfig | FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    BaselineStore,
    Effect.gen(function*() {
      const options = yield* ApmConfig
      const files = fileOptions(persistence)
      const log = RateLimitedLog.make({ interval: "1 hour" })
      const replaceable = yield* AtomicFile.checkReplaceable(file, files).pipe(
        Effect.as(true),
        Effect.catch((error) =>
          Effect.as(log.warn("use", `Baselines will not be kept across restarts: ${error.message}`, { file }), false)
        )
      )
      if (!replaceable) return yield* inMemory(options)
      yield* AtomicFile.removeLeftovers(file, leftoverAge, files).pipe(
        Effect.catch((error) =>
          log.warn("leftovers", `Could not remove old temporary baseline files: ${error.message}`)
        )
      )
      const store = make(options, yield* load(file, options, persistence))
      const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
      const persist = Effect.flatMap(
        store.snapshot,
        (snapshot) => AtomicFile.write(file, JSON.stringify(snapshot), files)
      ).pipe(
        Effect.catch((error) =>
          log.warn(
            "save",
            `Could not save the baselines to ${file}, they will not survive a restart: ${error.message}`,
            {
              file
            }
          )
        ),
        Effect.provideContext(context)
      )
      yield* persist
      yield* Effect.addFinalizer(() => persist)
      yield* every(options, Effect.andThen(store.refresh, persist))
      return store
    })
  )
