import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Metric, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Apm, ApmConfig } from "../src/index.ts"
import { ApmRecorder, ApmTest, MetricSeries, TestResourceMonitor } from "../src/testing/index.ts"
import * as OperationResources from "../src/internal/operationResources.ts"
import { PerformanceMetrics } from "../src/PerformanceMetrics.ts"
import * as ResourceMonitor from "../src/ResourceMonitor.ts"

const testUsage = TestResourceMonitor.usage
const later: ResourceMonitor.ResourceUsage = {
  ...testUsage,
  timestamp: 1000,
  cpu: { ...testUsage.cpu, total: 90 },
  disk: null,
  network: null,
  gc: null
}

/** A probe whose readings the test moves by hand. */
const manualProbe = () => {
  const reading = { rssBytes: 1000, cpuMicros: 0 }
  return { reading, probe: { rssBytes: () => reading.rssBytes, cpuMicros: () => reading.cpuMicros } }
}

describe("ResourceMonitor", () => {
  it.effect("the test layer starts at its initial reading and follows what the test sets", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* ResourceMonitor.ResourceMonitor.current, testUsage)
      yield* TestResourceMonitor.set(later)
      assert.deepStrictEqual(yield* ResourceMonitor.ResourceMonitor.current, later)
      assert.deepStrictEqual(yield* ResourceMonitor.ResourceMonitor.history, [testUsage, later])
      const monitor = yield* ResourceMonitor.ResourceMonitor
      assert.strictEqual(monitor.process.rssBytes(), TestResourceMonitor.processReading.rssBytes)
      yield* TestResourceMonitor.setProcess({ rssBytes: 42, cpuMicros: 7 })
      assert.strictEqual(monitor.process.rssBytes(), 42)
      assert.strictEqual(monitor.process.cpuMicros(), 7)
    }).pipe(Effect.provide(TestResourceMonitor.layer())))

  it.effect("the test history is bounded", () =>
    Effect.gen(function*() {
      const { control, monitor } = TestResourceMonitor.make(testUsage, TestResourceMonitor.processReading, 3)
      for (let i = 1; i <= 10; i++) yield* control.set({ ...testUsage, timestamp: i })
      assert.deepStrictEqual((yield* monitor.history).map((u) => u.timestamp), [8, 9, 10])
    }))

  it("readings decode with the schema, unavailable ones as null", () => {
    const decode = Schema.decodeUnknownSync(ResourceMonitor.ResourceUsage)
    assert.deepStrictEqual(decode(testUsage), testUsage)
    assert.deepStrictEqual(decode(later), later)
    assert.throws(() => decode({ ...testUsage, disk: 0 }))
    const gauges = ResourceMonitor.resourceGauges.map(([resource, read]) => [resource, read(later)] as const)
    assert.deepStrictEqual(gauges.find(([r]) => r === "disk_read_bytes_per_second"), [
      "disk_read_bytes_per_second",
      null
    ])
    assert.deepStrictEqual(gauges.find(([r]) => r === "cpu_total_percent"), ["cpu_total_percent", 90])
    assert.strictEqual(new Set(gauges.map(([r]) => r)).size, gauges.length)
  })

  it("each unit-bearing reading has a family named with its Prometheus unit", () => {
    for (const g of ResourceMonitor.unitGauges) {
      assert.match(g.name, /^[a-z_]+_(bytes|seconds|ratio|bytes_per_second)$/, g.name)
    }
    const read = (name: string, mode?: string) =>
      ResourceMonitor.unitGauges.find((g) => g.name === name && g.attributes?.["cpu.mode"] === mode)!.read(testUsage)
    // 12 % of one core on a 4-core machine is 3 % of the machine
    assert.strictEqual(read("process_cpu_utilization_ratio", "user"), 0.03)
    assert.strictEqual(read("system_cpu_utilization_ratio"), 0.2)
    assert.strictEqual(read("process_memory_rss_bytes"), testUsage.memory.rss)
    assert.strictEqual(read("process_gc_pause_seconds"), 0.004)
    const keys = ResourceMonitor.unitGauges.map((g) => `${g.name}${JSON.stringify(g.attributes ?? {})}`)
    assert.strictEqual(new Set(keys).size, keys.length)
  })
})

describe("per-operation resource sampling", () => {
  const context = () => Context.make(Metric.MetricRegistry, new Map())

  it.effect("at rate 1 every operation records its rss and CPU deltas and the histograms", () =>
    Effect.gen(function*() {
      const options = yield* ApmConfig.make({ memorySampleRate: 1 })
      const { probe, reading } = manualProbe()
      const sampler = OperationResources.make(options, { ...TestResourceMonitor.make().monitor, process: probe })!
      const ctx = context()
      const start = sampler.start()!
      reading.rssBytes += 65_536
      reading.cpuMicros += 50_000
      const usage = sampler.finish(start, { name: "report", type: "custom_operation" }, 0.1, ctx)
      assert.deepStrictEqual(usage, { memoryDeltaBytes: 65_536, cpuSeconds: 0.05, cpuPercent: 50 })
      // The record with its resource usage is a valid PerformanceMetrics.
      Schema.decodeUnknownSync(PerformanceMetrics)({
        operationName: "report",
        operationType: "custom_operation",
        startTime: 0,
        endTime: 100,
        duration: 0.1,
        status: "ok",
        success: true,
        slow: false,
        attributes: {},
        resourceUsage: usage
      })
      const labels = { operation_name: "report", operation_type: "custom_operation" }
      const memory = yield* MetricSeries.state("apm_memory_usage_bytes", labels).pipe(Effect.provideContext(ctx))
      const cpu = yield* MetricSeries.state("apm_cpu_usage_percent", labels).pipe(Effect.provideContext(ctx))
      assert.strictEqual(memory!["count"], 1)
      assert.strictEqual(memory!["sum"], 65_536)
      assert.strictEqual(cpu!["sum"], 50)
    }))

  it.effect("a zero-length operation records CPU time but no percentage; a shrinking rss a negative delta", () =>
    Effect.gen(function*() {
      const options = yield* ApmConfig.make({ memorySampleRate: 1 })
      const { probe, reading } = manualProbe()
      const sampler = OperationResources.make(options, { ...TestResourceMonitor.make().monitor, process: probe })!
      const start = sampler.start()!
      reading.rssBytes -= 4096
      reading.cpuMicros += 10
      assert.deepStrictEqual(sampler.finish(start, { name: "x", type: "custom_operation" }, 0, context()), {
        memoryDeltaBytes: -4096,
        cpuSeconds: 0.00001
      })
    }))

  it.effect("samples a memorySampleRate fraction, deterministically", () =>
    Effect.gen(function*() {
      const count = (rate: number, seed?: number) =>
        Effect.map(ApmConfig.make({ memorySampleRate: rate }), (options) => {
          const sampler = OperationResources.make(options, TestResourceMonitor.make().monitor, seed)
          let sampled = 0
          for (let i = 0; i < 100_000; i++) if (sampler?.start() !== undefined) sampled++
          return sampled
        })
      assert.strictEqual(yield* count(1), 100_000)
      assert.strictEqual(yield* count(0), 0)
      const fivePercent = yield* count(0.05)
      assert.isAtLeast(fivePercent, 4_700)
      assert.isAtMost(fivePercent, 5_300)
      assert.strictEqual(yield* count(0.05), fivePercent, "same seed, same decisions")
      // No aliasing: every slot of a cycle of 20 operations gets sampled.
      const options = yield* ApmConfig.make({ memorySampleRate: 0.05 })
      const sampler = OperationResources.make(options, TestResourceMonitor.make().monitor)!
      const slots = new Set<number>()
      for (let i = 0; i < 20_000; i++) if (sampler.start() !== undefined) slots.add(i % 20)
      assert.strictEqual(slots.size, 20)
    }))

  it.effect("the switches turn the readings off", () =>
    Effect.gen(function*() {
      const monitor = TestResourceMonitor.make().monitor
      const off = yield* ApmConfig.make({
        memorySampleRate: 1,
        memoryProfilingEnabled: false,
        cpuProfilingEnabled: false
      })
      assert.isUndefined(OperationResources.make(off, monitor))
      assert.isUndefined(OperationResources.make(yield* ApmConfig.make({ enabled: false }), monitor))
      assert.isUndefined(OperationResources.make(yield* ApmConfig.make({ memorySampleRate: 0 }), monitor))
      assert.isUndefined(OperationResources.make(yield* ApmConfig.make(), undefined))

      const { probe, reading } = manualProbe()
      let rssReads = 0
      const counting = { ...probe, rssBytes: () => (rssReads++, probe.rssBytes()) }
      const cpuOnly = yield* ApmConfig.make({ memorySampleRate: 1, memoryProfilingEnabled: false })
      const sampler = OperationResources.make(cpuOnly, { ...monitor, process: counting })!
      const start = sampler.start()!
      reading.cpuMicros += 1000
      const usage = sampler.finish(start, { name: "cpu_only", type: "custom_operation" }, 0.01, context())
      assert.deepStrictEqual(usage, { cpuSeconds: 0.001, cpuPercent: 10 })
      assert.strictEqual(rssReads, 0)
    }))
})

describe("Apm.trace resource sampling (integration)", () => {
  it.effect("records the rss and CPU deltas of a sampled operation into its record and histograms", () =>
    Effect.gen(function*() {
      const work = Effect.gen(function*() {
        yield* TestResourceMonitor.setProcess({
          rssBytes: TestResourceMonitor.processReading.rssBytes + 65_536,
          cpuMicros: 50_000
        })
        yield* Effect.sleep(100)
      })
      const fiber = yield* Effect.forkChild(work.pipe(Apm.trace("report", "custom_operation")))
      yield* TestClock.adjust(100)
      yield* Fiber.join(fiber)
      const [record] = yield* ApmRecorder.operations
      assert.deepStrictEqual(record!.resourceUsage, { memoryDeltaBytes: 65_536, cpuSeconds: 0.05, cpuPercent: 50 })
      const labels = { operation_name: "report", operation_type: "custom_operation" }
      assert.strictEqual((yield* MetricSeries.state("apm_memory_usage_bytes", labels))!["sum"], 65_536)
      assert.strictEqual((yield* MetricSeries.state("apm_cpu_usage_percent", labels))!["sum"], 50)
    }).pipe(Effect.provide(ApmTest.layer({ memorySampleRate: 1 }))))

  it.effect("records nothing at rate 0 or with both switches off", () =>
    Effect.gen(function*() {
      for (
        const overrides of [{ memorySampleRate: 0 }, {
          memorySampleRate: 1,
          memoryProfilingEnabled: false,
          cpuProfilingEnabled: false
        }]
      ) {
        const records = yield* Effect.gen(function*() {
          yield* Apm.trace(Effect.void, "plain", "custom_operation")
          return yield* ApmRecorder.operations
        }).pipe(Effect.provide(ApmTest.layer(overrides)))
        assert.isUndefined(records[0]!.resourceUsage)
      }
    }))

  it.effect("Apm.resourceUsage is the monitor's reading, and high usage becomes an insight", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Apm.resourceUsage, Option.some(testUsage))
      yield* TestResourceMonitor.set({
        ...testUsage,
        cpu: { ...testUsage.cpu, machine: 97 },
        memory: { ...testUsage.memory, usedFraction: 0.9 }
      })
      const types = (yield* Apm.insights).map((i) => i.type)
      assert.include(types, "high_cpu_usage")
      assert.include(types, "high_memory_usage")
    }).pipe(Effect.provide(ApmTest.layer())))
})
