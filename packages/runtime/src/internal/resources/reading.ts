/**
 * A raw reading of the probes, and the pure function that turns two of them
 * and the time between them into a `ResourceUsage`: counters become
 * per-interval percentages and rates, levels pass through. Nothing here
 * touches Node, so every edge (a counter that went back, a zero interval, a
 * probe the platform lacks) is tested with hand-made readings.
 */
import type { ResourceUsage } from "@mcp-apm/core/ResourceMonitor"
import type { MemoryLimit } from "./cgroup.ts"
import type { EventLoopDelay, EventLoopTime } from "./eventLoop.ts"
import type { GcCounters } from "./gc.ts"
import { gcTypes } from "./gc.ts"
import type { MachineCpuTimes, ProcessMemory } from "./nodeProcess.ts"
import type { DiskCounters, NetworkCounters } from "./procfs.ts"

/** What rises monotonically and is read as a difference; `undefined` where the platform cannot tell. */
export interface Counters {
  /** CPU time of the process in microseconds, since it started. */
  readonly cpu: { readonly user: number; readonly system: number }
  readonly machineCpu: MachineCpuTimes | undefined
  readonly eventLoopTime: EventLoopTime | undefined
  readonly gc: GcCounters | undefined
  readonly disk: DiskCounters | undefined
  readonly network: NetworkCounters | undefined
}

/** One reading of every probe. */
export interface Reading extends Counters {
  /** Epoch milliseconds. */
  readonly timestamp: number
  readonly cores: number
  readonly memory: ProcessMemory
  readonly memoryLimit: MemoryLimit
  /** The delay over the window since the previous reading. */
  readonly eventLoopDelay: EventLoopDelay | undefined
}

/**
 * The counters as they stood when the process started, the window of the
 * first reading: the process's own count from zero, the machine's since
 * boot (so its CPU % covers boot to now), and no window yet of what was not
 * watched then (network, GC).
 */
export const processStart: Counters = {
  cpu: { user: 0, system: 0 },
  machineCpu: { busy: 0, total: 0 },
  eventLoopTime: { idle: 0, active: 0 },
  gc: undefined,
  disk: { read: 0, write: 0 },
  network: undefined
}

/**
 * What a counter gained: a counter that went back was reset (a restarted
 * counter, a core taken offline), and what it holds now it gained since.
 */
const increase = (current: number, before: number): number => current >= before ? current - before : current

/** The clock counts nanoseconds: a shorter interval is no time at all. */
const shortestInterval = 1e-9

/** A per-second rate, `null` without a window, across a reset, or over no time. */
const rate = (current: number, before: number | undefined, seconds: number): number | null =>
  before === undefined || current < before || seconds <= 0 ? null : (current - before) / seconds

const machineCpuPercent = (current: MachineCpuTimes | undefined, before: MachineCpuTimes | undefined) => {
  if (current === undefined || before === undefined) return null
  const total = current.total - before.total
  const busy = current.busy - before.busy
  return total > 0 && busy >= 0 ? Math.min(100, busy / total * 100) : null
}

const utilization = (current: EventLoopTime | undefined, before: EventLoopTime | undefined) => {
  if (current === undefined || before === undefined) return null
  const active = current.active - before.active
  const total = active + current.idle - before.idle
  return total > 0 && active >= 0 ? Math.min(1, active / total) : null
}

const gcUsage = (current: GcCounters | undefined, before: GcCounters | undefined): ResourceUsage["gc"] => {
  if (current === undefined || before === undefined) return null
  const byKind = {} as Record<(typeof gcTypes)[number], { count: number; pauseSeconds: number }>
  let count = 0
  let pauseSeconds = 0
  for (const type of gcTypes) {
    // a count that went back restarted the observer: its pause total restarted with it
    const reset = current[type].count < before[type].count
    const kind = reset ? { ...current[type] } : {
      count: current[type].count - before[type].count,
      pauseSeconds: Math.max(0, current[type].pauseSeconds - before[type].pauseSeconds)
    }
    byKind[type] = kind
    count += kind.count
    pauseSeconds += kind.pauseSeconds
  }
  return { count, pauseSeconds, byKind }
}

/**
 * The usage over the `intervalSeconds` from `previous` to `current`. CPU is
 * in percent of one core over the interval (0 over no time: a zero, negative
 * or sub-nanosecond interval); rates are per second (`null` over no time, or
 * across a counter reset); what a reading lacks is `null`.
 */
export const toUsage = (previous: Counters, current: Reading, intervalSeconds: number): ResourceUsage => {
  const seconds = intervalSeconds >= shortestInterval ? intervalSeconds : 0
  const percent = (micros: number) => seconds > 0 ? micros / (seconds * 1e6) * 100 : 0
  const user = percent(increase(current.cpu.user, previous.cpu.user))
  const system = percent(increase(current.cpu.system, previous.cpu.system))
  const { memory, memoryLimit, eventLoopDelay: delay, disk, network } = current
  return {
    timestamp: current.timestamp,
    intervalSeconds: seconds,
    cpu: {
      user,
      system,
      total: user + system,
      machine: machineCpuPercent(current.machineCpu, previous.machineCpu),
      cores: current.cores
    },
    memory: {
      ...memory,
      limit: memoryLimit.limit,
      limitSource: memoryLimit.source,
      used: memoryLimit.used,
      usedFraction: memoryLimit.used === null ? null : memoryLimit.used / memoryLimit.limit,
      rssFraction: memory.rss / memoryLimit.limit
    },
    eventLoop: {
      delayMin: delay?.min ?? null,
      delayMean: delay?.mean ?? null,
      delayMax: delay?.max ?? null,
      delayP50: delay?.p50 ?? null,
      delayP90: delay?.p90 ?? null,
      delayP99: delay?.p99 ?? null,
      utilization: utilization(current.eventLoopTime, previous.eventLoopTime)
    },
    gc: gcUsage(current.gc, previous.gc),
    disk: disk === undefined ? null : {
      readBytes: disk.read,
      writeBytes: disk.write,
      readBytesPerSecond: rate(disk.read, previous.disk?.read, seconds),
      writeBytesPerSecond: rate(disk.write, previous.disk?.write, seconds)
    },
    network: network === undefined ? null : {
      receivedBytes: network.rx,
      sentBytes: network.tx,
      receivedBytesPerSecond: rate(network.rx, previous.network?.rx, seconds),
      sentBytesPerSecond: rate(network.tx, previous.network?.tx, seconds),
      interfaces: network.interfaces
    }
  }
}
