/**
 * `TestResourceMonitor`: a deterministic `ResourceMonitor` whose readings
 * the test sets, for the resource gauges, sampled operations and the
 * resource insights.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { ResourceMonitorService, ResourceUsage } from "../ResourceMonitor.ts"
import { defaultHistorySize, ResourceMonitor } from "../ResourceMonitor.ts"

/**
 * A settable process probe reading.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProcessReading {
  readonly rssBytes: number
  readonly cpuMicros: number
}

/**
 * Controls the test monitor: `set` makes a reading current and appends it to
 * the history, `setProcess` sets what the process probes return.
 *
 * @category services
 * @since 0.1.0
 */
export class TestResourceMonitor extends Context.Service<TestResourceMonitor, {
  readonly set: (usage: ResourceUsage) => Effect.Effect<void>
  readonly setProcess: (reading: ProcessReading) => Effect.Effect<void>
}>()("@mcp-apm/core/testing/TestResourceMonitor") {}

const gcKind = { count: 0, pauseSeconds: 0 }

/**
 * A plausible, fixed reading: what the test monitor starts with.
 *
 * @category constants
 * @since 0.1.0
 */
export const usage: ResourceUsage = {
  timestamp: 0,
  intervalSeconds: 1,
  cpu: { user: 12, system: 3, total: 15, machine: 20, cores: 4 },
  memory: {
    rss: 128 * 1024 * 1024,
    heapUsed: 48 * 1024 * 1024,
    heapTotal: 64 * 1024 * 1024,
    heapLimit: 4096 * 1024 * 1024,
    external: 2 * 1024 * 1024,
    arrayBuffers: 1024 * 1024,
    limit: 1024 * 1024 * 1024,
    limitSource: "cgroup",
    used: 256 * 1024 * 1024,
    usedFraction: 0.25,
    rssFraction: 0.125
  },
  eventLoop: {
    delayMin: 0.01,
    delayMean: 0.0105,
    delayMax: 0.02,
    delayP50: 0.0101,
    delayP90: 0.011,
    delayP99: 0.015,
    utilization: 0.1
  },
  gc: {
    count: 3,
    pauseSeconds: 0.004,
    byKind: {
      major: { count: 1, pauseSeconds: 0.003 },
      minor: { count: 2, pauseSeconds: 0.001 },
      incremental: gcKind,
      weakcb: gcKind
    }
  },
  disk: { readBytes: 4096, writeBytes: 8192, readBytesPerSecond: 0, writeBytesPerSecond: 1024 },
  network: {
    receivedBytes: 1_000_000,
    sentBytes: 500_000,
    receivedBytesPerSecond: 2048,
    sentBytesPerSecond: 1024,
    interfaces: 1
  }
}

/**
 * What the test monitor's process probes return until set: a fixed rss and
 * no CPU time, so that sampled operations record zero deltas.
 *
 * @category constants
 * @since 0.1.0
 */
export const processReading: ProcessReading = { rssBytes: 128 * 1024 * 1024, cpuMicros: 0 }

/**
 * The test monitor and its control, for layers that assemble their context
 * by hand (`ApmTest`) and for tests of the sampler alone.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  initial: ResourceUsage = usage,
  process: ProcessReading = processReading,
  historySize: number = defaultHistorySize
): { readonly monitor: ResourceMonitorService; readonly control: TestResourceMonitor["Service"] } => {
  const history: Array<ResourceUsage> = [initial]
  let reading = process
  const monitor: ResourceMonitorService = {
    current: Effect.sync(() => history[history.length - 1]!),
    history: Effect.sync(() => [...history]),
    process: { rssBytes: () => reading.rssBytes, cpuMicros: () => reading.cpuMicros }
  }
  const control: TestResourceMonitor["Service"] = {
    set: (next) =>
      Effect.sync(() => {
        history.push(next)
        if (history.length > historySize) history.shift()
      }),
    setProcess: (next) => Effect.sync(() => void (reading = next))
  }
  return { monitor, control }
}

/**
 * The test monitor as `ResourceMonitor`, with its control: it starts at
 * `initial`, and its process probes return `process` until set otherwise.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  initial: ResourceUsage = usage,
  process: ProcessReading = processReading
): Layer.Layer<ResourceMonitor | TestResourceMonitor> =>
  Layer.effectContext(Effect.sync(() => {
    const { control, monitor } = make(initial, process)
    return Context.make(ResourceMonitor, monitor).pipe(Context.add(TestResourceMonitor, control))
  }))

/**
 * Makes `next` the test monitor's current reading.
 *
 * @category accessors
 * @since 0.1.0
 */
export const set = (next: ResourceUsage): Effect.Effect<void, never, TestResourceMonitor> =>
  TestResourceMonitor.use((control) => control.set(next))

/**
 * Sets what the test monitor's process probes return.
 *
 * @category accessors
 * @since 0.1.0
 */
export const setProcess = (next: ProcessReading): Effect.Effect<void, never, TestResourceMonitor> =>
  TestResourceMonitor.use((control) => control.setProcess(next))
