/**
 * `ResourceMonitor`: what the process and its machine use (CPU, memory, event
 * loop, garbage collector, disk and network I/O), as a current reading and a
 * bounded history, plus the cheap process probes `Apm.trace` reads around a
 * sampled operation.
 *
 * Core only describes the readings; `NodeResourceMonitor` in
 * `@mcp-apm/runtime` takes them. A reading the platform cannot give is
 * `null`: an APM that reports a made-up zero for a missing `/proc` tells an
 * SRE that the disk is idle when nobody looked.
 *
 * @since 0.1.0
 */
import { Context, Schema } from "effect"
import type { Effect } from "effect"

/** A reading that may be unavailable on this platform. */
const Reading = Schema.NullOr(Schema.Finite)

/**
 * CPU use over the sampling interval. `user`, `system` and `total` are the
 * process's, in percent of one core (so up to `cores` x 100); `machine` is
 * the whole machine's, in percent of all its cores (0 to 100).
 *
 * @category models
 * @since 0.1.0
 */
export const CpuUsage = Schema.Struct({
  user: Schema.Finite,
  system: Schema.Finite,
  total: Schema.Finite,
  machine: Reading,
  cores: Schema.Int
})

/**
 * Memory in bytes. `limit` is the memory the process may use: its cgroup's
 * limit (`memory.max`, or `memory.limit_in_bytes` under cgroup v1) when it
 * runs under one, else the machine's total (`limitSource` says which).
 * `used` is what counts against that limit (the cgroup's usage less its
 * reclaimable page cache, or the machine's total less its available memory),
 * `usedFraction` is `used / limit` and `rssFraction` is `rss / limit`.
 *
 * @category models
 * @since 0.1.0
 */
export const MemoryUsage = Schema.Struct({
  rss: Schema.Finite,
  heapUsed: Schema.Finite,
  heapTotal: Schema.Finite,
  heapLimit: Schema.Finite,
  external: Schema.Finite,
  arrayBuffers: Schema.Finite,
  limit: Schema.Finite,
  limitSource: Schema.Literals(["cgroup", "machine"]),
  used: Reading,
  usedFraction: Reading,
  rssFraction: Schema.Finite
})

/**
 * Event-loop delay over the sampling interval, in seconds, from Node's
 * `monitorEventLoopDelay` histogram, and the event loop's utilisation (the
 * fraction of the interval it was busy). The delay readings are `null` when
 * the histogram saw no tick in the interval.
 *
 * @category models
 * @since 0.1.0
 */
export const EventLoopUsage = Schema.Struct({
  delayMin: Reading,
  delayMean: Reading,
  delayMax: Reading,
  delayP50: Reading,
  delayP90: Reading,
  delayP99: Reading,
  utilization: Reading
})

/**
 * Collections of one kind in the interval, and their total pause in seconds.
 *
 * @category models
 * @since 0.1.0
 */
export const GcKindUsage = Schema.Struct({ count: Schema.Finite, pauseSeconds: Schema.Finite })

/**
 * Garbage collection over the sampling interval, in total and by kind (the
 * kinds of OpenTelemetry's `v8js.gc.type`).
 *
 * @category models
 * @since 0.1.0
 */
export const GcUsage = Schema.Struct({
  count: Schema.Finite,
  pauseSeconds: Schema.Finite,
  byKind: Schema.Struct({ major: GcKindUsage, minor: GcKindUsage, incremental: GcKindUsage, weakcb: GcKindUsage })
})

/**
 * Bytes the process read from and wrote to storage (Linux
 * `/proc/self/io` `read_bytes`/`write_bytes`: page-cache hits and sockets
 * are not disk I/O), since it started and per second over the interval.
 *
 * @category models
 * @since 0.1.0
 */
export const DiskUsage = Schema.Struct({
  readBytes: Schema.Finite,
  writeBytes: Schema.Finite,
  readBytesPerSecond: Reading,
  writeBytesPerSecond: Reading
})

/**
 * Bytes received and sent by the machine's network interfaces (of the
 * process's network namespace: in a container, the container's), since boot
 * and per second over the interval, from Linux `/proc/net/dev`. The loopback
 * interface is left out: its traffic never leaves the machine and counts
 * every byte twice, once sent and once received.
 *
 * @category models
 * @since 0.1.0
 */
export const NetworkUsage = Schema.Struct({
  receivedBytes: Schema.Finite,
  sentBytes: Schema.Finite,
  receivedBytesPerSecond: Reading,
  sentBytesPerSecond: Reading,
  interfaces: Schema.Int
})

/**
 * One reading of the monitor. `timestamp` is epoch milliseconds;
 * `intervalSeconds` is the time the interval readings (CPU %, event loop, GC,
 * rates) cover. `gc`, `disk` and `network` are `null` where the platform
 * cannot tell.
 *
 * @category models
 * @since 0.1.0
 */
export const ResourceUsage = Schema.Struct({
  timestamp: Schema.Finite,
  intervalSeconds: Schema.Finite,
  cpu: CpuUsage,
  memory: MemoryUsage,
  eventLoop: EventLoopUsage,
  gc: Schema.NullOr(GcUsage),
  disk: Schema.NullOr(DiskUsage),
  network: Schema.NullOr(NetworkUsage)
})

/**
 * @category models
 * @since 0.1.0
 */
export interface ResourceUsage extends Schema.Schema.Type<typeof ResourceUsage> {}

/**
 * What one sampled operation used, as `PerformanceMetrics.resourceUsage`
 * carries it: the change in the process's rss in bytes, the process CPU time
 * in seconds, and that time in percent of one core over the operation's
 * duration. A field is absent when its switch is off (or, for `cpuPercent`,
 * when the operation took no measurable time).
 *
 * These are process-wide readings: in a concurrent process they include
 * whatever else ran at the same time (other fibers, the garbage collector,
 * other threads), so read them as a distribution over many operations, not
 * as the cost of one.
 *
 * @category models
 * @since 0.1.0
 */
export const OperationResourceUsage = Schema.Struct({
  memoryDeltaBytes: Schema.optionalKey(Schema.Finite),
  cpuSeconds: Schema.optionalKey(Schema.Finite),
  cpuPercent: Schema.optionalKey(Schema.Finite)
})

/**
 * @category models
 * @since 0.1.0
 */
export interface OperationResourceUsage extends Schema.Schema.Type<typeof OperationResourceUsage> {}

/**
 * Synchronous probes of the process, cheap enough to read around an
 * operation. `NaN` means unavailable.
 *
 * @category models
 * @since 0.1.0
 */
export interface ProcessProbe {
  /** Resident set size, in bytes. */
  readonly rssBytes: () => number
  /**
   * User plus system CPU time of the calling thread since it started, in
   * microseconds: the thread that runs the operation, without the GC and I/O
   * helper threads.
   */
  readonly cpuMicros: () => number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ResourceMonitorService {
  /** The latest reading. */
  readonly current: Effect.Effect<ResourceUsage>
  /** The readings kept, oldest first; bounded. */
  readonly history: Effect.Effect<ReadonlyArray<ResourceUsage>>
  /** The probes `Apm.trace` reads around a sampled operation. */
  readonly process: ProcessProbe
}

/**
 * How many readings a monitor keeps by default: five minutes at one a second.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultHistorySize = 300

/**
 * The resource monitor.
 *
 * @category services
 * @since 0.1.0
 */
export class ResourceMonitor extends Context.Service<ResourceMonitor, ResourceMonitorService>()(
  "@mcp-apm/core/ResourceMonitor"
) {
  /** The latest reading of the monitor in context. */
  static readonly current: Effect.Effect<ResourceUsage, never, ResourceMonitor> = ResourceMonitor.use((m) => m.current)
  /** The readings the monitor in context kept, oldest first. */
  static readonly history: Effect.Effect<ReadonlyArray<ResourceUsage>, never, ResourceMonitor> = ResourceMonitor.use(
    (m) => m.history
  )
}

/**
 * The `resource` label values of the `apm_resource_usage` gauge and the
 * reading each one shows; `null` readings are not exported. The label values
 * are part of the metrics contract (dashboards and alert rules use them).
 *
 * @category metrics
 * @since 0.1.0
 */
export const resourceGauges: ReadonlyArray<readonly [resource: string, read: (usage: ResourceUsage) => number | null]> =
  [
    ["cpu_user_percent", (u) => u.cpu.user],
    ["cpu_system_percent", (u) => u.cpu.system],
    ["cpu_total_percent", (u) => u.cpu.total],
    ["machine_cpu_percent", (u) => u.cpu.machine],
    ["memory_rss_bytes", (u) => u.memory.rss],
    ["memory_heap_used_bytes", (u) => u.memory.heapUsed],
    ["memory_heap_total_bytes", (u) => u.memory.heapTotal],
    ["memory_external_bytes", (u) => u.memory.external],
    ["memory_limit_bytes", (u) => u.memory.limit],
    ["memory_used_bytes", (u) => u.memory.used],
    ["memory_used_fraction", (u) => u.memory.usedFraction],
    ["memory_rss_fraction", (u) => u.memory.rssFraction],
    ["eventloop_delay_min_seconds", (u) => u.eventLoop.delayMin],
    ["eventloop_delay_mean_seconds", (u) => u.eventLoop.delayMean],
    ["eventloop_delay_max_seconds", (u) => u.eventLoop.delayMax],
    ["eventloop_delay_p50_seconds", (u) => u.eventLoop.delayP50],
    ["eventloop_delay_p99_seconds", (u) => u.eventLoop.delayP99],
    ["eventloop_utilization", (u) => u.eventLoop.utilization],
    ["gc_count", (u) => u.gc?.count ?? null],
    ["gc_pause_seconds", (u) => u.gc?.pauseSeconds ?? null],
    ["disk_read_bytes_per_second", (u) => u.disk?.readBytesPerSecond ?? null],
    ["disk_write_bytes_per_second", (u) => u.disk?.writeBytesPerSecond ?? null],
    ["network_receive_bytes_per_second", (u) => u.network?.receivedBytesPerSecond ?? null],
    ["network_transmit_bytes_per_second", (u) => u.network?.sentBytesPerSecond ?? null]
  ]

/**
 * A reading with a unit, published as a metric family of its own whose name
 * ends in that unit, beside its `apm_resource_usage{resource}` series.
 *
 * @category metrics
 * @since 0.1.0
 */
export interface UnitGauge {
  readonly name: string
  readonly description: string
  readonly attributes?: Readonly<Record<string, string>> | undefined
  readonly read: (usage: ResourceUsage) => number | null
}

const ofAllCores = (percent: number, usage: ResourceUsage) => percent / (100 * Math.max(1, usage.cpu.cores))

/**
 * The unit-bearing readings as families named in Prometheus style, unit
 * last (`_bytes`, `_seconds`, `_ratio` for a fraction in [0, 1]), after
 * the OpenTelemetry metric they correspond to where there is one. The
 * event-loop delays and utilization have their families already
 * (`nodejs_eventloop_delay_*_seconds`, `nodejs_eventloop_utilization_ratio`).
 *
 * @category metrics
 * @since 0.1.0
 */
export const unitGauges: ReadonlyArray<UnitGauge> = [
  {
    name: "process_cpu_utilization_ratio",
    description:
      "Process CPU time over the sampling interval as a fraction of the interval times the cores, by cpu.mode (OpenTelemetry process.cpu.utilization)",
    attributes: { "cpu.mode": "user" },
    read: (u) => ofAllCores(u.cpu.user, u)
  },
  {
    name: "process_cpu_utilization_ratio",
    description:
      "Process CPU time over the sampling interval as a fraction of the interval times the cores, by cpu.mode (OpenTelemetry process.cpu.utilization)",
    attributes: { "cpu.mode": "system" },
    read: (u) => ofAllCores(u.cpu.system, u)
  },
  {
    name: "system_cpu_utilization_ratio",
    description:
      "Machine CPU use over the sampling interval, as a fraction of all its cores (OpenTelemetry system.cpu.utilization)",
    read: (u) => u.cpu.machine === null ? null : u.cpu.machine / 100
  },
  {
    name: "process_memory_rss_bytes",
    description: "Resident set size of the process, in bytes (OpenTelemetry process.memory.usage)",
    read: (u) => u.memory.rss
  },
  {
    name: "process_memory_heap_used_bytes",
    description: "V8 heap in use, in bytes",
    read: (u) => u.memory.heapUsed
  },
  {
    name: "process_memory_heap_total_bytes",
    description: "V8 heap allocated, in bytes",
    read: (u) => u.memory.heapTotal
  },
  {
    name: "process_memory_external_bytes",
    description: "Memory of C++ objects bound to JavaScript objects (Node external), in bytes",
    read: (u) => u.memory.external
  },
  {
    name: "process_memory_limit_bytes",
    description: "The memory limit that applies to the process, the cgroup's or else the machine's total, in bytes",
    read: (u) => u.memory.limit
  },
  {
    name: "process_memory_used_bytes",
    description:
      "Memory counted against the limit (the cgroup's usage less reclaimable page cache, or the machine's used), in bytes",
    read: (u) => u.memory.used
  },
  {
    name: "process_memory_used_ratio",
    description: "Memory counted against the limit, as a fraction of the limit",
    read: (u) => u.memory.usedFraction
  },
  {
    name: "process_memory_rss_ratio",
    description: "Resident set size of the process as a fraction of the memory limit",
    read: (u) => u.memory.rssFraction
  },
  {
    name: "process_gc_pause_seconds",
    description: "Time the process spent in garbage collection pauses over the sampling interval, in seconds",
    read: (u) => u.gc?.pauseSeconds ?? null
  },
  {
    name: "process_disk_read_bytes_per_second",
    description: "Bytes the process read from storage per second over the sampling interval",
    read: (u) => u.disk?.readBytesPerSecond ?? null
  },
  {
    name: "process_disk_write_bytes_per_second",
    description: "Bytes the process wrote to storage per second over the sampling interval",
    read: (u) => u.disk?.writeBytesPerSecond ?? null
  },
  {
    name: "system_network_receive_bytes_per_second",
    description:
      "Bytes the machine's network interfaces (loopback excluded) received per second over the sampling interval",
    read: (u) => u.network?.receivedBytesPerSecond ?? null
  },
  {
    name: "system_network_transmit_bytes_per_second",
    description:
      "Bytes the machine's network interfaces (loopback excluded) sent per second over the sampling interval",
    read: (u) => u.network?.sentBytesPerSecond ?? null
  }
]

/**
 * CPU use as a fraction in [0, 1], as `cpuUsageThreshold` reads it: the
 * machine's, or where the machine's is unavailable, the process's share of
 * all cores.
 *
 * @category accessors
 * @since 0.1.0
 */
export const cpuFraction = (usage: ResourceUsage): number =>
  usage.cpu.machine !== null ? usage.cpu.machine / 100 : usage.cpu.total / (100 * Math.max(1, usage.cpu.cores))

/**
 * Memory in use as a fraction of the limit that applies, as
 * `memoryUsageThreshold` reads it: what counts against the cgroup or machine
 * limit, or where that is unavailable, the process's rss.
 *
 * @category accessors
 * @since 0.1.0
 */
export const memoryFraction = (usage: ResourceUsage): number => usage.memory.usedFraction ?? usage.memory.rssFraction
