/**
 * The memory limit that applies to the process: its cgroup's (v2, then v1)
 * when it sets one below the machine's memory, else the machine's.
 */
import * as os from "node:os"
import * as path from "node:path"
import { readNumber, readText, statField } from "./textFiles.ts"

/** The memory the process may use, what counts against it, and where the limit comes from. */
export interface MemoryLimit {
  readonly limit: number
  readonly used: number | null
  readonly source: "cgroup" | "machine"
}

interface LimitFiles {
  readonly dir: string
  readonly max: string
  readonly current: string
  readonly inactive: string
}

const v2Files = (dir: string): LimitFiles => ({
  dir,
  max: "memory.max",
  current: "memory.current",
  inactive: "inactive_file"
})

const v1Files = (dir: string): LimitFiles => ({
  dir,
  max: "memory.limit_in_bytes",
  current: "memory.usage_in_bytes",
  inactive: "total_inactive_file"
})

/**
 * The cgroup's path comes from `/proc/self/cgroup`; inside a container with
 * its own cgroup namespace it is `/`, the mount's root, so the root is tried
 * after it. What counts against the limit is the cgroup's usage less its
 * reclaimable page cache, which the kernel drops before it kills anyone.
 */
export const readMemoryLimit = (procRoot: string, cgroupRoot: string): MemoryLimit => {
  const total = os.totalmem()
  const cgroups = readText(path.join(procRoot, "self/cgroup")) ?? ""
  const v2Path = /^0::(.*)$/m.exec(cgroups)?.[1]
  const v1Path = /^\d+:[^:]*\bmemory\b[^:]*:(.*)$/m.exec(cgroups)?.[1]
  const candidates: Array<LimitFiles> = []
  if (v2Path !== undefined) candidates.push(v2Files(path.join(cgroupRoot, v2Path)))
  candidates.push(v2Files(cgroupRoot))
  if (v1Path !== undefined) candidates.push(v1Files(path.join(cgroupRoot, "memory", v1Path)))
  candidates.push(v1Files(path.join(cgroupRoot, "memory")))
  for (const c of candidates) {
    const limit = readNumber(path.join(c.dir, c.max))
    if (limit === undefined || limit <= 0 || limit >= total) continue
    const current = readNumber(path.join(c.dir, c.current))
    const inactive = statField(readText(path.join(c.dir, "memory.stat")), c.inactive) ?? 0
    return { limit, used: current === undefined ? null : Math.max(0, current - inactive), source: "cgroup" }
  }
  return { limit: total, used: total - os.freemem(), source: "machine" }
}
