import { assert, describe, it } from "@effect/vitest"
import * as ResourceMonitor from "@mcp-apm/core/ResourceMonitor"
import { Effect, Layer, Metric, Schedule, Schema, Scope } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { TestClock } from "effect/testing"
import { existsSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeResourceMonitor from "../src/NodeResourceMonitor.ts"
import { parseExposition, promtoolCheck } from "@mcp-apm/core/test/support/prometheus"

const { ResourceMonitor: Monitor } = ResourceMonitor

/** A temporary directory, removed with the scope, holding `files` (path -> contents). */
const tempTree = (files: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const root = await fs.mkdtemp(path.join(os.tmpdir(), "apm-monitor-"))
      for (const [file, text] of Object.entries(files)) {
        await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true })
        await fs.writeFile(path.join(root, file), text)
      }
      return root
    }),
    (root) => Effect.promise(() => fs.rm(root, { recursive: true, force: true }))
  )

const burn = (millis: number) => {
  const end = performance.now() + millis
  let x = 0
  while (performance.now() < end) x++
  return x
}

const isolated = Effect.provideService(Metric.MetricRegistry, new Map())

/**
 * Waits (on the live clock) until the monitor has taken `count` more
 * readings: a reading that covers what the test did, however slow the
 * machine, where a fixed sleep would guess.
 */
const moreReadings = (count: number) =>
  Effect.gen(function*() {
    const seen = (yield* Monitor.history).length
    yield* Monitor.history.pipe(
      Effect.repeat({ until: (history) => history.length >= seen + count, schedule: Schedule.spaced("10 millis") })
    )
  })

describe("NodeResourceMonitor", () => {
  it.live("readings are within sane bounds on this machine", () =>
    Effect.gen(function*() {
      burn(50)
      // the first reading has no window of GC yet: a later one has every field
      yield* moreReadings(2)
      const usage = yield* Monitor.current
      const cores = os.availableParallelism()
      assert.strictEqual(usage.cpu.cores, cores)
      assert.isAtLeast(usage.cpu.total, 0)
      assert.isAtMost(usage.cpu.total, cores * 100)
      assert.closeTo(usage.cpu.total, usage.cpu.user + usage.cpu.system, 1e-9)
      if (usage.cpu.machine !== null) {
        assert.isAtLeast(usage.cpu.machine, 0)
        assert.isAtMost(usage.cpu.machine, 100)
      }
      assert.isAbove(usage.memory.rss, 0)
      assert.isAbove(usage.memory.heapUsed, 0)
      assert.isAtMost(usage.memory.heapUsed, usage.memory.heapTotal)
      assert.isAbove(usage.memory.limit, 0)
      assert.isAbove(usage.memory.rssFraction, 0)
      assert.isAtMost(usage.memory.rssFraction, 1)
      if (usage.memory.usedFraction !== null) {
        assert.isTrue(usage.memory.usedFraction > 0 && usage.memory.usedFraction <= 1)
      }
      assert.isTrue(
        usage.eventLoop.utilization !== null && usage.eventLoop.utilization >= 0 && usage.eventLoop.utilization <= 1
      )
      assert.isNotNull(usage.eventLoop.delayP99)
      assert.isAtLeast(usage.eventLoop.delayMin!, 0)
      assert.isAtMost(usage.eventLoop.delayMin!, usage.eventLoop.delayMax!)
      assert.isAbove(usage.intervalSeconds, 0)
      assert.isNotNull(usage.gc)
      if (existsSync("/proc/self/io")) assert.isNotNull(usage.disk)
      if (existsSync("/proc/net/dev")) assert.isNotNull(usage.network)
      // The probes Apm.trace reads per operation.
      const monitor = yield* Monitor
      const rss = monitor.process.rssBytes()
      assert.isAbove(rss, 0)
      assert.closeTo(rss, process.memoryUsage.rss(), 64 * 1024 * 1024)
      const cpu = monitor.process.cpuMicros()
      burn(20)
      assert.isAbove(monitor.process.cpuMicros(), cpu)
      // A reading is a valid ResourceUsage.
      assert.deepStrictEqual(Schema.decodeUnknownSync(ResourceMonitor.ResourceUsage)(usage), usage)
    }).pipe(Effect.provide(NodeResourceMonitor.layer({ interval: 100 })), isolated))

  it.live("a 200 ms block of the event loop is in the first reading after it", () =>
    Effect.gen(function*() {
      // the histogram measures from its timer's first tick: a block before it goes unseen
      yield* moreReadings(1)
      const seen = (yield* Monitor.history).length
      // A reading resets the histogram, whose next tick only restarts its count (see
      // internal/resources/eventLoop.ts). Node runs due timers in order of their due time, so this
      // 20 ms sleep ends after that tick (due within 10 ms of the reading), however loaded the machine.
      yield* Effect.sleep("20 millis")
      burn(200)
      // the block spans a due sample, which runs once it ends, after the histogram's tick that records it
      yield* moreReadings(1)
      const first = (yield* Monitor.history)[seen]!
      // a lower bound the block guarantees on any machine: 200 ms less the histogram's 10 ms resolution
      assert.isAtLeast(first.eventLoop.delayMax!, 0.15)
    }).pipe(Effect.provide(NodeResourceMonitor.layer({ interval: 100 })), isolated))

  it.effect("samples on its interval into a bounded history, and stops when its scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        NodeResourceMonitor.layer({ interval: "1 second", historySize: 5 }),
        scope
      )
      const monitor = context.mapUnsafe.get(Monitor.key) as ResourceMonitor.ResourceMonitorService
      assert.strictEqual((yield* monitor.history).length, 1)
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual((yield* monitor.history).length, 4)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual((yield* monitor.history).length, 5)
      const last = yield* monitor.current
      yield* Scope.close(scope, Effect.void as never)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* monitor.current, last)
      // Its metric series went with it.
      assert.deepStrictEqual(yield* Metric.snapshot, [])
    }).pipe(isolated))

  it.effect("timestamps and intervals come from the Clock", () =>
    Effect.gen(function*() {
      const start = Date.UTC(2026, 11, 2, 1, 0, 0)
      yield* TestClock.setTime(start)
      const history = yield* Monitor.history.pipe(
        Effect.tap(() => TestClock.adjust("2500 millis")),
        Effect.andThen(Monitor.history),
        Effect.provide(NodeResourceMonitor.layer({ interval: "1 second" }))
      )
      assert.deepStrictEqual(history.map((u) => u.timestamp), [start, start + 1000, start + 2000])
      // the first window runs from process start; the others are exactly the interval of the clock
      assert.isAbove(history[0]!.intervalSeconds, 0)
      assert.deepStrictEqual(history.slice(1).map((u) => u.intervalSeconds), [1, 1])
    }).pipe(isolated))

  it.effect("without /proc, disk and network I/O are unavailable, not zero", () =>
    Effect.gen(function*() {
      const empty = yield* tempTree()
      const usage = yield* Monitor.current.pipe(
        Effect.provide(NodeResourceMonitor.layer({ procRoot: empty, cgroupRoot: empty }))
      )
      assert.isNull(usage.disk)
      assert.isNull(usage.network)
      assert.strictEqual(usage.memory.limitSource, "machine")
      assert.strictEqual(usage.memory.limit, os.totalmem())
      const text = yield* Effect.gen(function*() {
        const monitor = yield* Monitor
        assert.isAbove(monitor.process.rssBytes(), 0, "falls back to process.memoryUsage.rss()")
        return yield* PrometheusMetrics.format()
      }).pipe(Effect.provide(NodeResourceMonitor.layer({ procRoot: empty, cgroupRoot: empty })))
      assert.notInclude(text, "disk_read_bytes_per_second")
      assert.notInclude(text, "network_receive_bytes_per_second")
      assert.include(text, "resource=\"memory_rss_bytes\"")
    }).pipe(isolated))

  it.effect("reads /proc I/O counters (loopback excluded) and the cgroup v2 memory limit", () =>
    Effect.gen(function*() {
      const mib = 1024 * 1024
      const proc = yield* tempTree({
        "self/io":
          "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n",
        "net/dev": [
          "Inter-|   Receive                                                |  Transmit",
          " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed",
          "    lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0",
          "  eth0: 1000 10 0 0 0 0 0 0 500 5 0 0 0 0 0 0",
          "  eth1: 24 1 0 0 0 0 0 0 12 1 0 0 0 0 0 0"
        ].join("\n"),
        "self/cgroup": "0::/app.slice\n"
      })
      const cgroup = yield* tempTree({
        "app.slice/memory.max": `${512 * mib}\n`,
        "app.slice/memory.current": `${256 * mib}\n`,
        "app.slice/memory.stat": `anon 1\nfile 2\ninactive_file ${64 * mib}\nactive_file 3\n`
      })
      const usage = yield* Monitor.current.pipe(
        Effect.provide(NodeResourceMonitor.layer({ procRoot: proc, cgroupRoot: cgroup }))
      )
      assert.deepStrictEqual(
        [usage.disk?.readBytes, usage.disk?.writeBytes],
        [4096, 8192]
      )
      assert.deepStrictEqual(
        [usage.network?.receivedBytes, usage.network?.sentBytes, usage.network?.interfaces],
        [1024, 512, 2]
      )
      assert.isNull(usage.network?.receivedBytesPerSecond, "no window yet at the first reading")
      assert.strictEqual(usage.memory.limitSource, "cgroup")
      assert.strictEqual(usage.memory.limit, 512 * mib)
      assert.strictEqual(usage.memory.used, 192 * mib)
      assert.strictEqual(usage.memory.usedFraction, 0.375)
    }).pipe(isolated))

  it.effect("reads the cgroup v1 limit, and ignores an unlimited one", () =>
    Effect.gen(function*() {
      const proc = yield* tempTree({ "self/cgroup": "4:memory:/\n" })
      const limited = yield* tempTree({
        "memory/memory.limit_in_bytes": "1073741824\n",
        "memory/memory.usage_in_bytes": "536870912\n",
        "memory/memory.stat": "cache 0\ntotal_inactive_file 0\n"
      })
      const unlimited = yield* tempTree({ "memory/memory.limit_in_bytes": "9223372036854771712\n" })
      const read = (cgroupRoot: string) =>
        Monitor.current.pipe(Effect.provide(NodeResourceMonitor.layer({ procRoot: proc, cgroupRoot })))
      const v1 = yield* read(limited)
      assert.deepStrictEqual([v1.memory.limitSource, v1.memory.limit, v1.memory.usedFraction], [
        "cgroup",
        1073741824,
        0.5
      ])
      const none = yield* read(unlimited)
      assert.deepStrictEqual([none.memory.limitSource, none.memory.limit], ["machine", os.totalmem()])
    }).pipe(isolated))

  it.live("publishes legal Prometheus metrics under the OpenTelemetry runtime names", () =>
    Effect.gen(function*() {
      const garbage: Array<unknown> = []
      for (let i = 0; i < 200_000; i++) garbage.push({ i })
      garbage.length = 0
      yield* moreReadings(2)
      const text = yield* PrometheusMetrics.format()
      const families = parseExposition(text)
      const byName = new Map(families.map((f) => [f.name, f]))
      const resource = byName.get("apm_resource_usage")!
      assert.strictEqual(resource.type, "GAUGE")
      assert.strictEqual(resource.help, "Current process and machine resource readings, by resource")
      const resources = new Set(resource.metrics.map((m) => m.labels?.["resource"]))
      for (
        const r of [
          "cpu_total_percent",
          "memory_rss_bytes",
          "memory_used_fraction",
          "eventloop_delay_p99_seconds",
          "gc_pause_seconds"
        ]
      ) {
        assert.isTrue(resources.has(r), r)
      }
      for (
        const name of [
          "nodejs_eventloop_delay_min_seconds",
          "nodejs_eventloop_delay_max_seconds",
          "nodejs_eventloop_delay_mean_seconds",
          "nodejs_eventloop_delay_p50_seconds",
          "nodejs_eventloop_delay_p90_seconds",
          "nodejs_eventloop_delay_p99_seconds",
          "nodejs_eventloop_utilization_ratio",
          "v8js_memory_heap_used_bytes",
          "v8js_memory_heap_limit_bytes"
        ]
      ) {
        assert.strictEqual(byName.get(name)?.type, "GAUGE", name)
      }
      // each unit-bearing reading has a family of its own, named with its unit
      const rss = byName.get("process_memory_rss_bytes")!
      assert.strictEqual(rss.type, "GAUGE")
      assert.isAbove(Number((rss.metrics[0] as { value?: string }).value), 1_000_000)
      const cpu = byName.get("process_cpu_utilization_ratio")!
      assert.deepStrictEqual(cpu.metrics.map((m) => m.labels?.["cpu_mode"]).sort(), ["system", "user"])
      for (const m of cpu.metrics) {
        const value = Number((m as { value?: string }).value)
        assert.isTrue(value >= 0 && value <= 1, `a ratio in [0, 1]: ${value}`)
      }
      for (const name of ["process_memory_heap_used_bytes", "process_memory_limit_bytes", "process_memory_rss_ratio"]) {
        assert.strictEqual(byName.get(name)?.type, "GAUGE", name)
      }
      const gc = byName.get("v8js_gc_duration_seconds")!
      assert.strictEqual(gc.type, "HISTOGRAM")
      // The parser folds a histogram's series together: check its labels in the text.
      for (const type of ["major", "minor", "incremental", "weakcb"]) {
        assert.include(text, `v8js_gc_duration_seconds_count{v8js_gc_type="${type}"}`)
      }
      assert.isTrue(
        byName.get("v8js_memory_heap_used_bytes")!.metrics.some((m) =>
          m.labels?.["v8js_heap_space_name"] === "old_space"
        )
      )
      const promtool = promtoolCheck(text)
      if (promtool !== undefined) assert.strictEqual(promtool.trim(), "")
    }).pipe(Effect.provide(NodeResourceMonitor.layer({ interval: 100 })), isolated))
})
