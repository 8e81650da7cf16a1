/**
 * The dashboard's memory of the recent past: per operation, a ring of
 * per-interval aggregates (count, errors, p50, p95, and the baseline's mean
 * and stddev as they were then), and a ring of resource readings, so that
 * the page can draw a trend and the moment a fault arrived.
 *
 * Memory is fixed: `size` intervals per operation, in preallocated columns,
 * and at most `maxOperations` operations; an operation past the cap is not
 * kept (counted in `droppedOperations`, logged at most once a minute). The
 * percentiles of an interval come from a fixed reservoir of its durations,
 * so a burst of a million operations costs what a burst of a thousand does.
 *
 * It listens to `Apm` through `Apm.OperationListeners`: `layer` appends
 * its listener to the ones already in context, so it must be built before
 * (below) the `Apm` layer.
 *
 * @since 0.1.0
 */
import { Apm, ApmConfig, BaselineStore, RateLimitedLog, ResourceMonitor } from "@mcp-apm/core"
import { Clock, Config, Context, Duration, Effect, Layer, Option, Schedule, Schema } from "effect"

/**
 * How much history is kept: `APM_HISTORY_INTERVAL` (the length of one
 * interval, 2 seconds by default), `APM_HISTORY_SIZE` (intervals kept per
 * operation, 300 by default: ten minutes) and `APM_HISTORY_MAX_OPERATIONS`
 * (200 by default).
 *
 * @category models
 * @since 0.1.0
 */
export interface HistoryOptions {
  readonly interval: Duration.Duration
  readonly size: number
  readonly maxOperations: number
}

const boundedInt = (name: string, min: number, max: number, fallback: number) =>
  Config.schema(Schema.Int.check(Schema.isBetween({ minimum: min, maximum: max })), name).pipe(
    Config.withDefault(fallback)
  )

const Interval = Schema.DurationFromString.check(
  Schema.makeFilter((d: Duration.Duration) => Duration.toMillis(d) >= 100 || "a duration of at least 100 millis")
)

/**
 * `HistoryOptions` from the environment; a bad value fails with an error
 * naming the variable.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<HistoryOptions> = Config.all({
  interval: Config.schema(Interval, "APM_HISTORY_INTERVAL").pipe(Config.withDefault(Duration.seconds(2))),
  size: boundedInt("APM_HISTORY_SIZE", 2, 10_000, 300),
  maxOperations: boundedInt("APM_HISTORY_MAX_OPERATIONS", 1, 100_000, 200)
})

/**
 * One interval of one operation. `time` is the end of the interval (epoch
 * milliseconds); durations in seconds; `p50`/`p95` are `null` in an interval
 * with no operation, the baseline's fields `null` before there is one.
 *
 * @category models
 * @since 0.1.0
 */
export interface OperationPoint {
  readonly time: number
  readonly count: number
  readonly errors: number
  readonly p50: number | null
  readonly p95: number | null
  readonly baselineMean: number | null
  readonly baselineStddev: number | null
}

/**
 * One resource reading, flattened for charts. CPU in percent (process: of
 * one core; machine: of all cores), memory in bytes, `memoryFraction` of
 * the limit, event-loop delay in seconds, GC pause seconds and I/O bytes
 * per second over the monitor's sampling interval.
 *
 * @category models
 * @since 0.1.0
 */
export interface ResourcePoint {
  readonly time: number
  readonly cpuProcess: number
  readonly cpuMachine: number | null
  readonly rss: number
  readonly heapUsed: number
  readonly memoryFraction: number
  readonly eventLoopDelayP99: number | null
  readonly eventLoopUtilization: number | null
  readonly gcPauseSeconds: number | null
  readonly diskReadBytesPerSecond: number | null
  readonly diskWriteBytesPerSecond: number | null
  readonly networkReceivedBytesPerSecond: number | null
  readonly networkSentBytesPerSecond: number | null
}

/**
 * Points as columns, one array per field, in time order: a tenth of the
 * JSON of one object per point.
 *
 * @category models
 * @since 0.1.0
 */
export type Columns<P> = { readonly [K in keyof P]: ReadonlyArray<P[K]> }

/**
 * What `GET /api/apm/history` answers. Numbers are rounded to a millionth
 * (a microsecond of a duration).
 *
 * @category models
 * @since 0.1.0
 */
export interface HistoryDocument {
  /** The interval, in seconds. */
  readonly interval: number
  /** The detector's sensitivity: the baseline band is mean +- sensitivity x stddev. */
  readonly sensitivity: number
  readonly droppedOperations: number
  readonly operations: ReadonlyArray<{
    readonly operationName: string
    readonly operationType: string
    readonly points: Columns<OperationPoint>
  }>
  readonly resources: Columns<ResourcePoint>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface HistoryService {
  readonly options: HistoryOptions
  /** The `Apm.OperationListener` that feeds the current interval. */
  readonly observe: Apm.OperationListener
  /** Closes the current interval of every operation and reads the resources; `layer` runs it every interval. */
  readonly tick: Effect.Effect<void>
  /** The points after `since` (epoch ms), of the operations named, or of all. */
  readonly query: (filter: {
    readonly operations?: ReadonlyArray<string> | undefined
    readonly since?: number | undefined
  }) => Effect.Effect<HistoryDocument>
  /** Preallocated memory, in bytes, of what is kept: constant once the caps are reached. */
  readonly retainedBytes: Effect.Effect<number>
}

/**
 * @category services
 * @since 0.1.0
 */
export class History extends Context.Service<History, HistoryService>()("@mcp-apm/runtime/dashboard/History") {}

// Enough for a p95 within a few percent; fixed, whatever the rate.
const reservoirSize = 256
const columns = 7

const quantile = (sorted: Float64Array, p: number): number => {
  const position = (sorted.length - 1) * p
  const low = Math.floor(position)
  const high = Math.min(low + 1, sorted.length - 1)
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low)
}

/** A ring of `size` points in one preallocated array; `NaN` stands for `null`. */
class PointRing {
  private readonly values: Float64Array
  private readonly size: number
  private next = 0
  private filled = 0
  constructor(size: number) {
    this.size = size
    this.values = new Float64Array(size * columns)
  }
  push(point: ReadonlyArray<number>): void {
    this.values.set(point, (this.next % this.size) * columns)
    this.next++
    this.filled = Math.min(this.filled + 1, this.size)
  }
  since(since: number): Array<OperationPoint> {
    const out: Array<OperationPoint> = []
    const nullable = (v: number) => Number.isNaN(v) ? null : v
    for (let i = this.next - this.filled; i < this.next; i++) {
      const at = (i % this.size) * columns
      const time = this.values[at]!
      if (time <= since) continue
      out.push({
        time,
        count: this.values[at + 1]!,
        errors: this.values[at + 2]!,
        p50: nullable(this.values[at + 3]!),
        p95: nullable(this.values[at + 4]!),
        baselineMean: nullable(this.values[at + 5]!),
        baselineStddev: nullable(this.values[at + 6]!)
      })
    }
    return out
  }
  get bytes(): number {
    return this.values.byteLength
  }
}

class OperationHistory {
  readonly ring: PointRing
  private readonly reservoir = new Float64Array(reservoirSize)
  private count = 0
  private errors = 0
  // xorshift32 with a fixed seed: which samples the reservoir keeps is the same on every run.
  private state = 0x9e3779b9
  readonly name: string
  readonly type: string
  constructor(name: string, type: string, size: number) {
    this.name = name
    this.type = type
    this.ring = new PointRing(size)
  }
  add(record: Parameters<Apm.OperationListener>[0]): void {
    if (record.status === "error" || record.status === "defect") this.errors++
    if (this.count < reservoirSize) {
      this.reservoir[this.count] = record.duration
    } else {
      this.state ^= this.state << 13
      this.state ^= this.state >>> 17
      this.state ^= this.state << 5
      const slot = (this.state >>> 0) % (this.count + 1)
      if (slot < reservoirSize) this.reservoir[slot] = record.duration
    }
    this.count++
  }
  close(time: number, baseline: BaselineStore.PerformanceBaseline | undefined): void {
    const kept = Math.min(this.count, reservoirSize)
    const sorted = this.reservoir.subarray(0, kept).sort()
    this.ring.push([
      time,
      this.count,
      this.errors,
      kept === 0 ? NaN : quantile(sorted, 0.5),
      kept === 0 ? NaN : quantile(sorted, 0.95),
      baseline?.mean ?? NaN,
      baseline?.stddev ?? NaN
    ])
    this.count = 0
    this.errors = 0
  }
  get bytes(): number {
    return this.ring.bytes + this.reservoir.byteLength
  }
}

const round = (v: number | null) => v === null ? null : Math.round(v * 1e6) / 1e6

const columnsOf = <P extends { readonly [K in keyof P]: number | null }>(
  points: ReadonlyArray<P>,
  keys: ReadonlyArray<keyof P>
): Columns<P> => Object.fromEntries(keys.map((key) => [key, points.map((p) => round(p[key]))])) as unknown as Columns<P>

const operationKeys: ReadonlyArray<keyof OperationPoint> = [
  "time",
  "count",
  "errors",
  "p50",
  "p95",
  "baselineMean",
  "baselineStddev"
]

const resourcePoint = (time: number, usage: ResourceMonitor.ResourceUsage): ResourcePoint => ({
  time,
  cpuProcess: usage.cpu.total,
  cpuMachine: usage.cpu.machine,
  rss: usage.memory.rss,
  heapUsed: usage.memory.heapUsed,
  memoryFraction: ResourceMonitor.memoryFraction(usage),
  eventLoopDelayP99: usage.eventLoop.delayP99,
  eventLoopUtilization: usage.eventLoop.utilization,
  gcPauseSeconds: usage.gc?.pauseSeconds ?? null,
  diskReadBytesPerSecond: usage.disk?.readBytesPerSecond ?? null,
  diskWriteBytesPerSecond: usage.disk?.writeBytesPerSecond ?? null,
  networkReceivedBytesPerSecond: usage.network?.receivedBytesPerSecond ?? null,
  networkSentBytesPerSecond: usage.network?.sentBytesPerSecond ?? null
})

// Every field of a point, in column order; the record type makes the compiler check that none is missing.
const resourceFields: Record<keyof ResourcePoint, true> = {
  time: true,
  cpuProcess: true,
  cpuMachine: true,
  rss: true,
  heapUsed: true,
  memoryFraction: true,
  eventLoopDelayP99: true,
  eventLoopUtilization: true,
  gcPauseSeconds: true,
  diskReadBytesPerSecond: true,
  diskWriteBytesPerSecond: true,
  networkReceivedBytesPerSecond: true,
  networkSentBytesPerSecond: true
}

const resourceKeys = Object.keys(resourceFields) as ReadonlyArray<keyof ResourcePoint>

/**
 * The store over its options, the baselines it copies into each interval,
 * and the resource monitor, if any.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: HistoryOptions,
  parts: {
    readonly sensitivity: number
    readonly baselines: BaselineStore.BaselineStoreService
    readonly monitor?: ResourceMonitor.ResourceMonitorService | undefined
  }
): HistoryService => {
  const operations = new Map<string, OperationHistory>()
  const resources: Array<ResourcePoint> = []
  let dropped = 0
  let droppedLogged = 0
  const log = RateLimitedLog.make({ interval: "1 minute" })

  const observe: Apm.OperationListener = (record) => {
    let history = operations.get(record.operationName)
    if (history === undefined) {
      if (operations.size >= options.maxOperations) {
        dropped++
        return
      }
      history = new OperationHistory(record.operationName, record.operationType, options.size)
      operations.set(record.operationName, history)
    }
    history.add(record)
  }

  const tick = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    for (const history of operations.values()) history.close(now, parts.baselines.baselineOf(history.name))
    if (parts.monitor !== undefined) {
      // stamped with the interval's end, as the operations' points are, so the charts share one time axis
      resources.push(resourcePoint(now, yield* parts.monitor.current))
      if (resources.length > options.size) resources.shift()
    }
    if (dropped > droppedLogged) {
      droppedLogged = dropped
      yield* log.warn(
        "history-cap",
        `dashboard history keeps at most ${options.maxOperations} operations (APM_HISTORY_MAX_OPERATIONS); ` +
          `${dropped} observations of further operations were not kept`
      )
    }
  })

  const query: HistoryService["query"] = (filter) =>
    Effect.sync(() => {
      const since = filter.since ?? 0
      const selected = filter.operations === undefined
        ? [...operations.values()]
        : filter.operations.flatMap((name) => {
          const found = operations.get(name)
          return found === undefined ? [] : [found]
        })
      return {
        interval: Duration.toSeconds(options.interval),
        sensitivity: parts.sensitivity,
        droppedOperations: dropped,
        operations: selected.map((h) => ({
          operationName: h.name,
          operationType: h.type,
          points: columnsOf(h.ring.since(since), operationKeys)
        })),
        resources: columnsOf(resources.filter((r) => r.time > since), resourceKeys)
      }
    })

  const retainedBytes = Effect.sync(() => {
    let bytes = 0
    for (const history of operations.values()) bytes += history.bytes
    return bytes + resources.length * 13 * 8
  })

  return { options, observe, tick, query, retainedBytes }
}

/**
 * The store over `options`, ticking every interval for as long as the layer
 * lives, with its listener appended to `Apm.OperationListeners`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (options: HistoryOptions) =>
  Layer.effectContext(Effect.gen(function*() {
    const apmOptions = yield* ApmConfig.ApmConfig
    const history = make(options, {
      sensitivity: apmOptions.anomalyDetectionSensitivity,
      baselines: yield* BaselineStore.BaselineStore,
      monitor: Option.getOrUndefined(yield* Effect.serviceOption(ResourceMonitor.ResourceMonitor))
    })
    const listeners = yield* Apm.OperationListeners
    yield* Effect.forkScoped(
      Effect.repeat(history.tick, Schedule.spaced(options.interval)).pipe(Effect.delay(options.interval))
    )
    return Context.make(History, history).pipe(
      Context.add(Apm.OperationListeners, [...listeners, history.observe])
    )
  }))

/**
 * `layerWith` configured by `APM_HISTORY_*`.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = Layer.unwrap(Effect.map(config, layerWith))
