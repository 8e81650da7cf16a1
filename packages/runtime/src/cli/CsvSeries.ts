/**
 * Strict reading of a `timestamp,value` series, line by line, so that
 * `mcp-apm detect` can stream a file of any length and stop at the first
 * malformed line with an error that names the file, the line and what was
 * wrong.
 *
 * The format is the one NAB and most exports use: a header line
 * `timestamp,value`, then one row per line. No CSV library is installed, and
 * for two columns without embedded commas a small parser is stricter and
 * clearer than a general one: a field may be wrapped in double quotes, and
 * nothing else is special. Timestamps are ISO 8601 (`2014-04-01 00:05:00`,
 * `2014-04-01T00:05:00Z`, with optional fraction and offset; no offset means
 * UTC) or epoch seconds; values are finite decimal numbers. Blank lines are
 * skipped (files often end with one).
 */
import { Schema } from "effect"
import { CliError } from "effect/cli"

export class CsvSeriesError extends Schema.TaggedError<CsvSeriesError>()("CsvSeriesError", {
  file: Schema.String,
  /** 1-based line number; 0 when the file could not be read at all */
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return this.line > 0 ? `${this.file}:${this.line}: ${this.reason}` : `${this.file}: ${this.reason}`
  }
  // effect/cli renders this on stderr instead of a stack trace
  override get [CliError.userMessage](): string {
    return this.message
  }
}

export interface CsvRow {
  /** the timestamp as written (quotes removed), echoed to the output */
  readonly timestamp: string
  /** the timestamp in milliseconds since the epoch */
  readonly time: number
  readonly valueText: string
  readonly value: number
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/
const EPOCH = /^[+-]?\d+(?:\.\d+)?$/
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** Milliseconds since the epoch, or a reason why the text is not a timestamp. */
export const parseTimestamp = (text: string): number | string => {
  if (EPOCH.test(text)) return Number(text) * 1000
  const m = ISO.exec(text)
  if (m === null) return `bad timestamp "${text}": expected ISO 8601 (2014-04-01 00:05:00) or epoch seconds`
  const [, y, mo, d, h = "00", mi = "00", s = "00", fraction = "", zone = "Z"] = m
  const offset = zone === "Z" ? "Z" : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone
  const time = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}${offset}`)
  // Date.parse rolls 2014-02-30 over to March; a round trip of the date and time fields catches it
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)))
  if (
    Number.isNaN(time) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCHours() !== Number(h) || check.getUTCMinutes() !== Number(mi) || check.getUTCSeconds() !== Number(s)
  ) {
    return `bad timestamp "${text}": not a valid date and time`
  }
  return time
}

const unquote = (field: string): string => {
  const f = field.trim()
  return f.length >= 2 && f.startsWith("\"") && f.endsWith("\"") ? f.slice(1, -1).trim() : f
}

/**
 * A reader of one file's lines, fed in order. It returns the row of a data
 * line, `undefined` for the header and blank lines, and a `CsvSeriesError` for
 * a malformed line; `finish` reports a file without a header.
 */
export class CsvSeriesReader {
  readonly file: string
  private line = 0
  private header = false
  constructor(file: string) {
    this.file = file
  }

  private error(reason: string, line: number = this.line): CsvSeriesError {
    return new CsvSeriesError({ file: this.file, line, reason })
  }

  next(text: string): CsvRow | CsvSeriesError | undefined {
    this.line++
    const raw = this.line === 1 ? text.replace(/^\uFEFF/, "") : text
    if (raw.trim() === "") return undefined
    const fields = raw.split(",")
    if (!this.header) {
      const names = fields.map((f) => unquote(f).toLowerCase())
      if (names.length !== 2 || names[0] !== "timestamp" || names[1] !== "value") {
        return this.error(`bad header "${raw.trim()}": expected "timestamp,value"`)
      }
      this.header = true
      return undefined
    }
    if (fields.length !== 2) return this.error(`expected 2 columns (timestamp,value), found ${fields.length}`)
    const timestamp = unquote(fields[0]!)
    const valueText = unquote(fields[1]!)
    const time = parseTimestamp(timestamp)
    if (typeof time === "string") return this.error(time)
    if (!NUMBER.test(valueText)) return this.error(`bad value "${valueText}": expected a number`)
    const value = Number(valueText)
    if (!Number.isFinite(value)) return this.error(`bad value "${valueText}": not a finite number`)
    return { timestamp, time, valueText, value }
  }

  /** After the last line: an error when the file held no header (it was empty). */
  finish(): CsvSeriesError | undefined {
    return this.header ? undefined : this.error("empty file: expected the header \"timestamp,value\"", 1)
  }
}
