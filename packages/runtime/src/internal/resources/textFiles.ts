/**
 * Reads of the small text files the kernel publishes (`/proc`, cgroup), where
 * a missing or unreadable file is an unavailable reading, not an error.
 */
import * as fs from "node:fs"

/** The file's text, or `undefined` when it cannot be read. */
export const readText = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch {
    return undefined
  }
}

/** A file holding one number; `max` (cgroup's "no limit") and anything unparsable are `undefined`. */
export const readNumber = (file: string): number | undefined => {
  const text = readText(file)?.trim()
  if (text === undefined || text === "" || text === "max") return undefined
  const n = Number(text)
  return Number.isFinite(n) ? n : undefined
}

/** The value of `key` in a `key value` or `key: value` per line file (`/proc/self/io`, `memory.stat`). */
export const statField = (text: string | undefined, key: string): number | undefined => {
  const match = text === undefined ? null : new RegExp(`^${key}[: ]\\s*(\\d+)`, "m").exec(text)
  return match === null ? undefined : Number(match[1])
}
