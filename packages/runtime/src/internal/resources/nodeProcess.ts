/**
 * The process and machine probes Node answers without `/proc`: CPU time of
 * the process and of every core, and the process's memory.
 */
import * as os from "node:os"
import * as v8 from "node:v8"

/** Milliseconds all cores spent busy, and in total, since boot. */
export interface MachineCpuTimes {
  readonly busy: number
  readonly total: number
}

/** The process's memory, in bytes. */
export interface ProcessMemory {
  readonly rss: number
  readonly heapUsed: number
  readonly heapTotal: number
  readonly heapLimit: number
  readonly external: number
  readonly arrayBuffers: number
}

/** `undefined` where the platform lists no cores. */
export const readMachineCpuTimes = (): MachineCpuTimes | undefined => {
  const cpus = os.cpus()
  if (cpus.length === 0) return undefined
  let busy = 0
  let total = 0
  for (const { times } of cpus) {
    const b = times.user + times.nice + times.sys + times.irq
    busy += b
    total += b + times.idle
  }
  return { busy, total }
}

export const readProcessMemory = (): ProcessMemory => {
  const memory = process.memoryUsage()
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    heapLimit: v8.getHeapStatistics().heap_size_limit,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers
  }
}
