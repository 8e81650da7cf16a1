/**
 * The resource dashboard (`resource-usage-dashboard.json`): per instance,
 * CPU, memory, event loop, garbage collection, heap spaces, disk and network
 * I/O, from `apm_resource_usage` and the OpenTelemetry Node.js runtime
 * metrics (`v8js.gc.duration`, `v8js.memory.heap.used`).
 *
 * @since 0.1.0
 */
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard"
import { RowBuilder } from "@grafana/grafana-foundation-sdk/dashboard"
import { ApmMetrics, ResourceMonitor } from "@mcp-apm/core"
import { percent } from "./internal/format.ts"
import * as Grafana from "./internal/grafana.ts"
import * as RuleOptions from "./RuleOptions.ts"

const known = new Set(ResourceMonitor.resourceGauges.map(([resource]) => resource))

/** One reading of `apm_resource_usage` per instance; a name the monitor does not export is a bug here. */
const reading = (resource: string, legend = `{{instance}} ${resource}`): Grafana.Query => {
  if (!known.has(resource)) throw new Error(`apm_resource_usage has no resource "${resource}"`)
  return { expr: `${ApmMetrics.definitions.resource.name}{${Grafana.selector({ resource })}}`, legend }
}

const gcDuration = "v8js_gc_duration_seconds"
const heapUsed = "v8js_memory_heap_used_bytes"

/**
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: RuleOptions.RuleOptions = RuleOptions.defaults): dashboard.Dashboard =>
  Grafana.make(
    "mcp-apm-resource-usage",
    "mcp-apm / Resource usage",
    "CPU, memory, event loop, garbage collection, heap, disk and network I/O of each selected instance."
  )
    .variables([...Grafana.variables(ApmMetrics.definitions.resource.name)])
    .withRow(new RowBuilder("CPU and memory"))
    .withPanel(
      Grafana.panel("Process CPU", "percent", [
        reading("cpu_user_percent", "{{instance}} user"),
        reading("cpu_system_percent", "{{instance}} system")
      ], { description: "In percent of one core." })
    )
    .withPanel(
      Grafana.panel("Machine CPU", "percentunit", [{
        ...reading("machine_cpu_percent", "{{instance}}"),
        expr: `${reading("machine_cpu_percent").expr} / 100`
      }], { description: `ApmHighCpuUsage fires over ${percent(options.thresholds.cpuUsageThreshold)}%.` })
    )
    .withPanel(
      Grafana.panel("Process memory", "bytes", [
        reading("memory_rss_bytes", "{{instance}} rss"),
        reading("memory_heap_used_bytes", "{{instance}} heap used"),
        reading("memory_heap_total_bytes", "{{instance}} heap total"),
        reading("memory_external_bytes", "{{instance}} external")
      ])
    )
    .withPanel(
      Grafana.panel("Memory used of the limit", "percentunit", [
        reading("memory_used_fraction", "{{instance}} used (cgroup or machine)"),
        reading("memory_rss_fraction", "{{instance}} rss")
      ], { description: `ApmHighMemoryUsage fires over ${percent(options.thresholds.memoryUsageThreshold)}%.` })
    )
    .withRow(new RowBuilder("Event loop, GC and heap"))
    .withPanel(
      Grafana.panel("Event loop delay", "s", [
        reading("eventloop_delay_p50_seconds", "{{instance}} p50"),
        reading("eventloop_delay_p99_seconds", "{{instance}} p99"),
        reading("eventloop_delay_max_seconds", "{{instance}} max")
      ])
    )
    .withPanel(Grafana.panel("Event loop utilisation", "percentunit", [reading("eventloop_utilization", "{{instance}}")]))
    .withPanel(
      Grafana.panel("Time in GC", "percentunit", [{
        expr: `sum by (instance, v8js_gc_type) (rate(${gcDuration}_sum{${Grafana.selector()}}[$__rate_interval]))`,
        legend: "{{instance}} {{v8js_gc_type}}"
      }], { description: "Seconds of garbage-collection pause per second, by kind." })
    )
    .withPanel(
      Grafana.panel("Collections per second", "ops", [{
        expr: `sum by (instance, v8js_gc_type) (rate(${gcDuration}_count{${Grafana.selector()}}[$__rate_interval]))`,
        legend: "{{instance}} {{v8js_gc_type}}"
      }])
    )
    .withPanel(
      Grafana.panel("Heap used by space", "bytes", [{
        expr: `sum by (instance, v8js_heap_space_name) (${heapUsed}{${Grafana.selector()}})`,
        legend: "{{instance}} {{v8js_heap_space_name}}"
      }], { width: 24 })
    )
    .withRow(new RowBuilder("Disk and network"))
    .withPanel(
      Grafana.panel("Disk I/O", "Bps", [
        reading("disk_read_bytes_per_second", "{{instance}} read"),
        reading("disk_write_bytes_per_second", "{{instance}} write")
      ])
    )
    .withPanel(
      Grafana.panel("Network I/O", "Bps", [
        reading("network_receive_bytes_per_second", "{{instance}} receive"),
        reading("network_transmit_bytes_per_second", "{{instance}} transmit")
      ])
    )
    .build()
