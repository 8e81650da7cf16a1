/**
 * The gauge publisher of the Node resource monitor: each reading as
 * `apm_resource_usage{resource=...}`, each unit-bearing reading also as a
 * family of its own (`ResourceMonitor.unitGauges`), the event-loop readings
 * under their OpenTelemetry names and the V8 heap spaces. A series exists
 * only while its reading does: a probe that stops answering takes its series
 * with it, rather than leaving a stale value. Closing the scope removes them
 * all.
 */
import { ApmMetrics, ReadOnlyMetric } from "@mcp-apm/core"
import * as ResourceMonitor from "@mcp-apm/core/ResourceMonitor"
import type { ResourceUsage } from "@mcp-apm/core/ResourceMonitor"
import type { Context } from "effect"
import { Effect, Metric } from "effect"
import type * as v8 from "node:v8"

const gauge = (name: string, description: string, attributes?: Record<string, string>) =>
  Metric.gauge(name, attributes === undefined ? { description } : { description, attributes })

/** Gauges whose series exist only while their reading does. */
class GaugeSet {
  private readonly context: Context.Context<never>
  private readonly registered = new Map<string, Metric.Registration>()

  constructor(context: Context.Context<never>) {
    this.context = context
  }

  sync(key: string, metric: Metric.Gauge<number>, value: number | null | undefined, read: () => number): void {
    const registration = this.registered.get(key)
    const available = value !== null && value !== undefined && Number.isFinite(value)
    if (available && registration === undefined) {
      this.registered.set(key, ReadOnlyMetric.registerReadOnly(metric, this.context, () => ({ value: read() })))
    } else if (!available && registration !== undefined) {
      registration.remove()
      this.registered.delete(key)
    }
  }

  removeAll(): void {
    for (const r of this.registered.values()) r.remove()
    this.registered.clear()
  }
}

type UsageGauge = readonly [name: string, description: string, read: (usage: ResourceUsage) => number | null]
type HeapSpaceGauge = readonly [name: string, description: string, read: (space: v8.HeapSpaceInfo) => number]

const resourceGauges = ResourceMonitor.resourceGauges.map(([resource, read]) => ({
  key: `apm:${resource}`,
  read,
  metric: gauge(ApmMetrics.definitions.resource.name, ApmMetrics.definitions.resource.description, { resource })
}))

const unitGauges = ResourceMonitor.unitGauges.map((g) => ({
  key: `unit:${g.name}:${JSON.stringify(g.attributes ?? {})}`,
  read: g.read,
  metric: gauge(g.name, g.description, g.attributes)
}))

const eventLoopGauges: ReadonlyArray<UsageGauge> = [
  [
    "nodejs_eventloop_delay_min_seconds",
    "Event loop minimum delay, in seconds (OpenTelemetry nodejs.eventloop.delay.min)",
    (u) => u.eventLoop.delayMin
  ],
  [
    "nodejs_eventloop_delay_max_seconds",
    "Event loop maximum delay, in seconds (OpenTelemetry nodejs.eventloop.delay.max)",
    (u) => u.eventLoop.delayMax
  ],
  [
    "nodejs_eventloop_delay_mean_seconds",
    "Event loop mean delay, in seconds (OpenTelemetry nodejs.eventloop.delay.mean)",
    (u) => u.eventLoop.delayMean
  ],
  [
    "nodejs_eventloop_delay_p50_seconds",
    "Event loop 50 percentile delay, in seconds (OpenTelemetry nodejs.eventloop.delay.p50)",
    (u) => u.eventLoop.delayP50
  ],
  [
    "nodejs_eventloop_delay_p90_seconds",
    "Event loop 90 percentile delay, in seconds (OpenTelemetry nodejs.eventloop.delay.p90)",
    (u) => u.eventLoop.delayP90
  ],
  [
    "nodejs_eventloop_delay_p99_seconds",
    "Event loop 99 percentile delay, in seconds (OpenTelemetry nodejs.eventloop.delay.p99)",
    (u) => u.eventLoop.delayP99
  ],
  [
    "nodejs_eventloop_utilization_ratio",
    "Event loop utilization, the fraction of time it was busy (OpenTelemetry nodejs.eventloop.utilization)",
    (u) => u.eventLoop.utilization
  ]
]

const heapSpaceGauges: ReadonlyArray<HeapSpaceGauge> = [
  [
    "v8js_memory_heap_used_bytes",
    "Heap memory size used, in bytes, by heap space (OpenTelemetry v8js.memory.heap.used)",
    (s) => s.space_used_size
  ],
  [
    "v8js_memory_heap_limit_bytes",
    "Total heap memory size pre-allocated, in bytes, by heap space (OpenTelemetry v8js.memory.heap.limit)",
    (s) => s.space_size
  ],
  [
    "v8js_memory_heap_space_available_size_bytes",
    "Heap space available size, in bytes, by heap space",
    (s) => s.space_available_size
  ],
  [
    "v8js_memory_heap_space_physical_size_bytes",
    "Committed size of a heap space, in bytes, by heap space",
    (s) => s.physical_space_size
  ]
]

/**
 * @category models
 */
interface GaugePublisher {
  /** Publishes a reading and the heap spaces read with it; the series read the latest of each when scraped. */
  readonly publish: (usage: ResourceUsage, spaces: ReadonlyArray<v8.HeapSpaceInfo>) => void
}

/** A publisher whose series are removed when the scope closes. */
export const make = Effect.fnUntraced(function*() {
  const gauges = new GaugeSet(yield* Effect.context<never>())
  yield* Effect.addFinalizer(() => Effect.sync(() => gauges.removeAll()))
  let latest: ResourceUsage | undefined
  let latestSpaces: ReadonlyArray<v8.HeapSpaceInfo> = []
  const readLatest = (read: (usage: ResourceUsage) => number | null) => () =>
    latest === undefined ? NaN : read(latest) ?? NaN
  const readSpace = (name: string, read: (space: v8.HeapSpaceInfo) => number) => () => {
    const space = latestSpaces.find((s) => s.space_name === name)
    return space === undefined ? NaN : read(space)
  }
  return {
    publish: (usage, spaces) => {
      latest = usage
      latestSpaces = spaces
      for (const g of resourceGauges) gauges.sync(g.key, g.metric, g.read(usage), readLatest(g.read))
      for (const g of unitGauges) gauges.sync(g.key, g.metric, g.read(usage), readLatest(g.read))
      for (const [name, description, read] of eventLoopGauges) {
        gauges.sync(name, gauge(name, description), read(usage), readLatest(read))
      }
      for (const space of spaces) {
        const attributes = { "v8js.heap.space.name": space.space_name }
        for (const [name, description, read] of heapSpaceGauges) {
          gauges.sync(
            `${name}:${space.space_name}`,
            gauge(name, description, attributes),
            read(space),
            readSpace(space.space_name, read)
          )
        }
      }
    }
  } satisfies GaugePublisher
})
