/**
 * Per-operation resource usage: for a `memorySampleRate` fraction of
 * operations, `Apm.trace` reads the process's rss and its thread's CPU time
 * before and after, and records the deltas into `apm_memory_usage_bytes` and
 * `apm_cpu_usage_percent` and the operation's record.
 *
 * The readings cost microseconds (an rss reading is a `/proc` read), more
 * than the rest of an operation, so the decision must be nearly free for the
 * operations not sampled: one step of a xorshift generator and a compare. A
 * generator, not a counter, because a counter that samples every 20th
 * operation never samples an operation that always runs 10th in a cycle of
 * 20; the fixed seed keeps tests deterministic.
 *
 * The deltas are not the operation's alone: in a concurrent process they
 * include other work that ran on the thread, or grew the heap, meanwhile
 * (see `OperationResourceUsage`).
 *
 * @internal
 */
import type { Context } from "effect"
import { Metric } from "effect"
import type { ApmOptions } from "../ApmConfig.ts"
import { definitions } from "../ApmMetrics.ts"
import type { OperationType } from "../OperationType.ts"
import type { OperationResourceUsage, ProcessProbe, ResourceMonitorService } from "../ResourceMonitor.ts"
import { HistogramSeries, registerReadOnly } from "../ReadOnlyMetric.ts"

/**
 * Buckets of `apm_memory_usage_bytes`. An rss delta is negative when memory
 * went back to the system during the operation.
 *
 * @internal
 */
const memoryBuckets: ReadonlyArray<number> = [
  -67_108_864,
  -1_048_576,
  -65_536,
  0,
  65_536,
  262_144,
  1_048_576,
  4_194_304,
  16_777_216,
  67_108_864,
  268_435_456
]

/**
 * Buckets of `apm_cpu_usage_percent`, in percent of one core: over 100 when
 * other threads (the garbage collector, the thread pool) worked too.
 *
 * @internal
 */
const cpuBuckets: ReadonlyArray<number> = [1, 5, 10, 25, 50, 75, 90, 100, 150, 200, 400]

/** The readings taken when a sampled operation started; NaN where switched off. @internal */
export interface ResourceStart {
  readonly rss: number
  readonly cpu: number
}

class OperationSeries {
  readonly memory = new HistogramSeries(memoryBuckets)
  readonly cpu = new HistogramSeries(cpuBuckets)
  private exported = false
  private readonly attributes: Record<string, string>

  constructor(name: string, type: OperationType) {
    this.attributes = { operation_name: name, operation_type: type }
  }

  exportTo(context: Context.Context<never>, memory: boolean, cpu: boolean): void {
    if (this.exported) return
    this.exported = true
    const register = (
      d: { readonly name: string; readonly description: string },
      series: HistogramSeries,
      boundaries: ReadonlyArray<number>
    ) =>
      registerReadOnly(
        Metric.histogram(d.name, { description: d.description, attributes: this.attributes, boundaries }),
        context,
        () => series.state()
      )
    if (memory) register(definitions.memory, this.memory, memoryBuckets)
    if (cpu) register(definitions.cpu, this.cpu, cpuBuckets)
  }
}

/**
 * An operation as the sampler knows it: `Apm`'s entry for it (its
 * `OperationStats`), one object per operation for the life of the service.
 *
 * @internal
 */
export interface OperationKey {
  readonly name: string
  readonly type: OperationType
}

/** @internal */
export class OperationResources {
  private readonly probe: ProcessProbe
  private readonly memory: boolean
  private readonly cpu: boolean
  private readonly threshold: number
  private state: number
  // Keyed by the operation's own (bounded, long-lived) entry, so that a sampled operation costs no string key.
  private readonly series = new WeakMap<OperationKey, OperationSeries>()

  constructor(options: ApmOptions, probe: ProcessProbe, seed = 0x2545f491) {
    this.probe = probe
    this.memory = options.memoryProfilingEnabled
    this.cpu = options.cpuProfilingEnabled
    // `(x >>> 0) < threshold` holds for a `memorySampleRate` fraction of 32-bit x.
    this.threshold = options.memorySampleRate * 4_294_967_296
    this.state = seed | 0 || 1
  }

  /** The readings at the start of an operation, or undefined when it is not sampled. */
  start(): ResourceStart | undefined {
    let x = this.state
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.state = x
    if ((x >>> 0) >= this.threshold) return undefined
    return {
      rss: this.memory ? this.probe.rssBytes() : NaN,
      cpu: this.cpu ? this.probe.cpuMicros() : NaN
    }
  }

  /**
   * Records a sampled operation's deltas into its histograms (registered in
   * the registry of `context` the first time) and returns them for its record.
   */
  finish(
    start: ResourceStart,
    operation: OperationKey,
    duration: number,
    context: Context.Context<never>
  ): OperationResourceUsage {
    const rss = this.memory ? this.probe.rssBytes() : NaN
    const cpu = this.cpu ? this.probe.cpuMicros() : NaN
    let series = this.series.get(operation)
    if (series === undefined) {
      series = new OperationSeries(operation.name, operation.type)
      this.series.set(operation, series)
    }
    series.exportTo(context, this.memory, this.cpu)
    const usage: { memoryDeltaBytes?: number; cpuSeconds?: number; cpuPercent?: number } = {}
    const memoryDelta = rss - start.rss
    if (Number.isFinite(memoryDelta)) {
      usage.memoryDeltaBytes = memoryDelta
      series.memory.add(memoryDelta)
    }
    const cpuMicros = cpu - start.cpu
    if (Number.isFinite(cpuMicros)) {
      usage.cpuSeconds = cpuMicros / 1e6
      if (duration > 0) {
        const percent = cpuMicros / (duration * 1e6) * 100
        usage.cpuPercent = percent
        series.cpu.add(percent)
      }
    }
    return usage
  }
}

/**
 * The sampler of an `Apm` service, or undefined when nothing would be
 * sampled: monitoring off, a sample rate of 0, both switches off, or no
 * monitor to read from.
 *
 * @internal
 */
export const make = (
  options: ApmOptions,
  monitor: ResourceMonitorService | undefined,
  seed?: number
): OperationResources | undefined =>
  monitor === undefined || !options.enabled || options.memorySampleRate <= 0 ||
    (!options.memoryProfilingEnabled && !options.cpuProfilingEnabled)
    ? undefined
    : new OperationResources(options, monitor.process, seed)
