/**
 * The pure half of the Node resource monitor: two hand-made readings and an
 * interval in, a `ResourceUsage` out. No `/proc`, no clock, no Node probe.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ResourceMonitor from "@mcp-apm/core/ResourceMonitor"
import { Schema } from "effect"
import fc from "fast-check"
import type { GcCounters } from "../src/internal/resources/gc.ts"
import type { Counters, Reading } from "../src/internal/resources/reading.ts"
import { processStart, toUsage } from "../src/internal/resources/reading.ts"

const mib = 1024 * 1024

const gcCounters = (major: number, minor: number): GcCounters => ({
  major: { count: major, pauseSeconds: major * 0.01 },
  minor: { count: minor, pauseSeconds: minor * 0.001 },
  incremental: { count: 0, pauseSeconds: 0 },
  weakcb: { count: 0, pauseSeconds: 0 }
})

const before: Counters = {
  cpu: { user: 5_000_000, system: 1_000_000 },
  machineCpu: { busy: 10_000, total: 40_000 },
  eventLoopTime: { idle: 8_000, active: 2_000 },
  gc: gcCounters(2, 10),
  disk: { read: 4096, write: 8192 },
  network: { rx: 1000, tx: 500, interfaces: 1 }
}

/** Two seconds after `before`: half a core of user time, a quarter of system time. */
const after: Reading = {
  timestamp: 1_700_000_000_000,
  cpu: { user: 6_000_000, system: 1_500_000 },
  machineCpu: { busy: 10_300, total: 41_000 },
  cores: 4,
  memory: {
    rss: 256 * mib,
    heapUsed: 40 * mib,
    heapTotal: 64 * mib,
    heapLimit: 2048 * mib,
    external: mib,
    arrayBuffers: 0
  },
  memoryLimit: { limit: 1024 * mib, used: 512 * mib, source: "cgroup" },
  eventLoopDelay: { min: 0, mean: 0.001, max: 0.2, p50: 0.0005, p90: 0.002, p99: 0.15 },
  eventLoopTime: { idle: 8_350, active: 2_150 },
  gc: gcCounters(3, 14),
  disk: { read: 4096 + 2 * 1024, write: 8192 },
  network: { rx: 1000 + 2000, tx: 500 + 1000, interfaces: 1 }
}

const decode = Schema.decodeUnknownSync(ResourceMonitor.ResourceUsage)

describe("ResourceReading", () => {
  it("turns counters into percentages and rates over the interval, and passes levels through", () => {
    const usage = toUsage(before, after, 2)
    assert.deepStrictEqual(decode(usage), usage)
    assert.strictEqual(usage.timestamp, after.timestamp)
    assert.strictEqual(usage.intervalSeconds, 2)
    assert.deepStrictEqual(usage.cpu, { user: 50, system: 25, total: 75, machine: 30, cores: 4 })
    assert.strictEqual(usage.memory.rss, 256 * mib)
    assert.strictEqual(usage.memory.heapLimit, 2048 * mib)
    const { limit, limitSource, rssFraction, used, usedFraction } = usage.memory
    assert.deepStrictEqual(
      [limit, limitSource, used, usedFraction, rssFraction],
      [1024 * mib, "cgroup", 512 * mib, 0.5, 0.25]
    )
    assert.deepStrictEqual(usage.eventLoop, {
      delayMin: 0,
      delayMean: 0.001,
      delayMax: 0.2,
      delayP50: 0.0005,
      delayP90: 0.002,
      delayP99: 0.15,
      utilization: 0.3
    })
    assert.strictEqual(usage.gc?.count, 5)
    assert.strictEqual(usage.gc?.byKind.major.count, 1)
    assert.strictEqual(usage.gc?.byKind.minor.count, 4)
    assert.closeTo(usage.gc!.pauseSeconds, 0.01 + 0.004, 1e-12)
    assert.deepStrictEqual(usage.disk, {
      readBytes: 6144,
      writeBytes: 8192,
      readBytesPerSecond: 1024,
      writeBytesPerSecond: 0
    })
    assert.deepStrictEqual(usage.network, {
      receivedBytes: 3000,
      sentBytes: 1500,
      receivedBytesPerSecond: 1000,
      sentBytesPerSecond: 500,
      interfaces: 1
    })
  })

  describe("over no time (two readings at one instant, a clock that went back)", () => {
    for (const interval of [0, -1, 1e-12, Number.NaN]) {
      it(`interval ${interval}: no CPU %, no rate, the ratios of deltas kept`, () => {
        const usage = toUsage(before, after, interval)
        assert.deepStrictEqual(decode(usage), usage)
        assert.strictEqual(usage.intervalSeconds, 0)
        assert.deepStrictEqual([usage.cpu.user, usage.cpu.system, usage.cpu.total], [0, 0, 0])
        assert.deepStrictEqual(
          [usage.disk?.readBytesPerSecond, usage.disk?.writeBytesPerSecond],
          [null, null]
        )
        assert.deepStrictEqual(
          [usage.network?.receivedBytesPerSecond, usage.network?.sentBytesPerSecond],
          [null, null]
        )
        assert.strictEqual(usage.cpu.machine, 30)
        assert.strictEqual(usage.eventLoop.utilization, 0.3)
      })
    }
  })

  describe("counter resets", () => {
    const reset: Reading = {
      ...after,
      cpu: { user: 400_000, system: 100_000 },
      machineCpu: { busy: 100, total: 200 },
      eventLoopTime: { idle: 10, active: 5 },
      gc: gcCounters(1, 0),
      disk: { read: 10, write: 20 },
      network: { rx: 30, tx: 40, interfaces: 2 }
    }
    const usage = toUsage(before, reset, 2)

    it("a process CPU counter that went back counts what it holds, as Prometheus' rate() does", () => {
      assert.deepStrictEqual([usage.cpu.user, usage.cpu.system], [20, 5])
    })
    it("machine CPU and event-loop utilisation across a reset are unknown, not negative", () => {
      assert.isNull(usage.cpu.machine)
      assert.isNull(usage.eventLoop.utilization)
    })
    it("I/O rates across a reset are unknown; the totals are the new ones", () => {
      assert.deepStrictEqual(usage.disk, {
        readBytes: 10,
        writeBytes: 20,
        readBytesPerSecond: null,
        writeBytesPerSecond: null
      })
      assert.deepStrictEqual(usage.network, {
        receivedBytes: 30,
        sentBytes: 40,
        receivedBytesPerSecond: null,
        sentBytesPerSecond: null,
        interfaces: 2
      })
    })
    it("a GC kind whose count went back counts what it holds; the others their difference", () => {
      assert.deepStrictEqual(usage.gc?.byKind.major, { count: 1, pauseSeconds: 0.01 })
      assert.deepStrictEqual(usage.gc?.byKind.minor, { count: 0, pauseSeconds: 0 })
      assert.strictEqual(usage.gc?.count, 1)
      assert.deepStrictEqual(decode(usage), usage)
    })
  })

  it("what a platform lacks is null, never zero: no cgroup, no /proc, no GC observer, no ticks, no cores", () => {
    const bare: Reading = {
      ...after,
      machineCpu: undefined,
      memoryLimit: { limit: 8192 * mib, used: null, source: "machine" },
      eventLoopDelay: undefined,
      eventLoopTime: undefined,
      gc: undefined,
      disk: undefined,
      network: undefined
    }
    const usage = toUsage(before, bare, 2)
    assert.deepStrictEqual(decode(usage), usage)
    const { limitSource, used, usedFraction } = usage.memory
    assert.deepStrictEqual([limitSource, used, usedFraction], ["machine", null, null])
    assert.strictEqual(usage.memory.rssFraction, 1 / 32)
    assert.isNull(usage.cpu.machine)
    assert.isTrue(Object.values(usage.eventLoop).every((v) => v === null))
    assert.deepStrictEqual([usage.gc, usage.disk, usage.network], [null, null, null])
  })

  it("the first reading's window opens at process start: rates since then, nothing for what was not watched", () => {
    const usage = toUsage(processStart, after, 100)
    assert.deepStrictEqual(decode(usage), usage)
    assert.deepStrictEqual([usage.cpu.user, usage.cpu.system], [6, 1.5])
    assert.strictEqual(usage.cpu.machine, 10_300 / 41_000 * 100)
    assert.strictEqual(usage.eventLoop.utilization, 2_150 / 10_500)
    assert.strictEqual(usage.disk?.readBytesPerSecond, 6144 / 100)
    assert.isNull(usage.network?.receivedBytesPerSecond, "the network counters run since boot, not process start")
    assert.isNull(usage.gc, "no collection was watched before the observer started")
  })

  describe("properties", () => {
    const count = fc.integer({ min: 0, max: 1e12 })
    const pair = fc.record({ idle: count, active: count })
    const gc = fc.tuple(fc.nat(1e6), fc.nat(1e6)).map(([major, minor]) => gcCounters(major, minor))
    const counters: fc.Arbitrary<Counters> = fc.record({
      cpu: fc.record({ user: count, system: count }),
      machineCpu: fc.option(fc.record({ busy: count, total: count }), { nil: undefined }),
      eventLoopTime: fc.option(pair, { nil: undefined }),
      gc: fc.option(gc, { nil: undefined }),
      disk: fc.option(fc.record({ read: count, write: count }), { nil: undefined }),
      network: fc.option(fc.record({ rx: count, tx: count, interfaces: fc.nat(64) }), { nil: undefined })
    })
    const reading: fc.Arbitrary<Reading> = fc.tuple(counters, fc.integer({ min: 1, max: 2 ** 40 })).map((
      [c, limit]
    ) => ({
      ...after,
      ...c,
      memoryLimit: { limit, used: limit / 2, source: "cgroup" as const }
    }))
    const interval = fc.oneof(fc.double({ min: -10, max: 1e6, noNaN: false }), fc.constant(0))

    it("any two readings and interval give a valid ResourceUsage: finite, no negative rate, ratios in range", () => {
      fc.assert(
        fc.property(counters, reading, interval, (previous, current, seconds) => {
          const usage = toUsage(previous, current, seconds)
          assert.deepStrictEqual(decode(usage), usage)
          assert.isAtLeast(usage.intervalSeconds, 0)
          assert.isAtLeast(usage.cpu.user, 0)
          assert.isAtLeast(usage.cpu.system, 0)
          assert.strictEqual(usage.cpu.total, usage.cpu.user + usage.cpu.system)
          const machine = usage.cpu.machine
          assert.isTrue(machine === null || (machine >= 0 && machine <= 100), `machine ${machine}`)
          const elu = usage.eventLoop.utilization
          assert.isTrue(elu === null || (elu >= 0 && elu <= 1), `utilization ${elu}`)
          const rates = [
            usage.disk?.readBytesPerSecond,
            usage.disk?.writeBytesPerSecond,
            usage.network?.receivedBytesPerSecond,
            usage.network?.sentBytesPerSecond
          ]
          assert.isTrue(rates.every((r) => r === undefined || r === null || r >= 0), `rates ${rates}`)
          assert.isTrue(usage.gc === null || (usage.gc.count >= 0 && usage.gc.pauseSeconds >= 0))
        }),
        { seed: 14, numRuns: 500 }
      )
    })

    it("rising counters over a positive interval: CPU % is the CPU time gained over the time passed", () => {
      fc.assert(
        fc.property(counters, fc.nat(1e9), fc.nat(1e9), fc.double({ min: 1e-3, max: 1e4, noNaN: true }), (
          previous,
          user,
          system,
          seconds
        ) => {
          const current: Reading = {
            ...after,
            ...previous,
            cpu: { user: previous.cpu.user + user, system: previous.cpu.system + system }
          }
          const usage = toUsage(previous, current, seconds)
          assert.closeTo(usage.cpu.user, user / (seconds * 1e6) * 100, 1e-6 * Math.max(1, usage.cpu.user))
          assert.closeTo(usage.cpu.system, system / (seconds * 1e6) * 100, 1e-6 * Math.max(1, usage.cpu.system))
          assert.strictEqual(usage.intervalSeconds, seconds)
        }),
        { seed: 14, numRuns: 300 }
      )
    })
  })
})
