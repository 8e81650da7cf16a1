/**
 * The Linux `/proc` probes: the process's storage I/O, the network
 * namespace's traffic, and a cheap reading of the process's rss. Where there
 * is no `/proc` the I/O probes read `undefined` and the rss probe falls back
 * to Node.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { readText, statField } from "./textFiles.ts"

/** Bytes the process read from and wrote to storage since it started. */
export interface DiskCounters {
  readonly read: number
  readonly write: number
}

/** Bytes received and sent by the interfaces counted, since boot. */
export interface NetworkCounters {
  readonly rx: number
  readonly tx: number
  readonly interfaces: number
}

/** The process's own I/O counters: bytes that went to or came from storage. */
export const readDisk = (procRoot: string): DiskCounters | undefined => {
  const text = readText(path.join(procRoot, "self/io"))
  const read = statField(text, "read_bytes")
  const write = statField(text, "write_bytes")
  return read === undefined || write === undefined ? undefined : { read, write }
}

/** Bytes received and sent by every interface but loopback, since boot. */
export const readNetwork = (procRoot: string): NetworkCounters | undefined => {
  const text = readText(path.join(procRoot, "net/dev"))
  if (text === undefined) return undefined
  let rx = 0
  let tx = 0
  let interfaces = 0
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":")
    if (colon < 0) continue
    const name = line.slice(0, colon).trim()
    const fields = line.slice(colon + 1).trim().split(/\s+/).map(Number)
    if (name === "lo" || fields.length < 16 || fields.some((f) => !Number.isFinite(f))) continue
    rx += fields[0]!
    tx += fields[8]!
    interfaces++
  }
  return { rx, tx, interfaces }
}

/** The rss probe `Apm.trace` reads around a sampled operation; `close` releases its file. */
export interface RssProbe {
  readonly rssBytes: () => number
  readonly close: () => void
}

/**
 * The rss of the process from one read of `/proc/self/statm` on a file kept
 * open: a fifth of the cost of `process.memoryUsage.rss()`, which opens,
 * reads and closes `/proc/self/stat` on every call. Falls back to
 * `process.memoryUsage.rss()` where there is no `/proc`.
 */
export const makeRssProbe = (procRoot: string): RssProbe => {
  let fd: number | undefined
  try {
    fd = fs.openSync(path.join(procRoot, "self/statm"), "r")
  } catch {
    fd = undefined
  }
  const buffer = Buffer.alloc(128)
  const residentPages = (): number => {
    const n = fs.readSync(fd!, buffer, 0, buffer.length, 0)
    let i = 0
    while (i < n && buffer[i] !== 32) i++
    let pages = 0
    for (i++; i < n && buffer[i]! >= 48 && buffer[i]! <= 57; i++) pages = pages * 10 + buffer[i]! - 48
    return pages
  }
  let pageSize = 0
  if (fd !== undefined) {
    try {
      // Node does not expose the page size: calibrate it against the slow reading, to a power of two.
      const pages = residentPages()
      pageSize = pages > 0 ? 2 ** Math.round(Math.log2(process.memoryUsage.rss() / pages)) : 0
    } catch {
      pageSize = 0
    }
    if (pageSize < 1024) {
      fs.closeSync(fd)
      fd = undefined
    }
  }
  return {
    rssBytes: fd === undefined ? () => process.memoryUsage.rss() : () => residentPages() * pageSize,
    close: () => {
      if (fd !== undefined) fs.closeSync(fd)
      fd = undefined
    }
  }
}
