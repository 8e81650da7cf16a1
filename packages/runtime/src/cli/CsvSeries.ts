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
 *
 * A file is not trusted: a line longer than `maxLineLength` stops the read
 * with an error as soon as it is seen, so one runaway line (a binary file, a
 * missing newline) costs neither memory nor a crash, and an error never
 * quotes more than `maxEchoLength` characters of a line. The first row whose
 * timestamp goes back in time is kept for a warning, and is an error under
 * `strict`: the detector reads rows in file order, so such a file is probably
 * not what was meant.
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

/**
 * The longest line read, in characters (the `\r` of a CRLF line included): a
 * `timestamp,value` row is some fifty characters long, so this leaves room
 * for any real file.
 */
export const maxLineLength = 1024

/** The most of a line an error message quotes. */
export const maxEchoLength = 200

/**
 * `text` in double quotes as an error may show it: at most `maxEchoLength`
 * characters of it, control characters escaped (a binary file must not
 * drive the terminal).
 */
export const quote = (text: string): string =>
  text.length <= maxEchoLength
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, maxEchoLength))}... (${text.length} characters)`

export interface CsvRow {
  /** the timestamp as written (quotes removed), echoed to the output */
  readonly timestamp: string
  /** the timestamp in milliseconds since the epoch */
  readonly time: number
  readonly valueText: string
  readonly value: number
}

const isoTimestamp = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/
const epochSeconds = /^[+-]?\d+(?:\.\d+)?$/
const decimalNumber = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** Milliseconds since the epoch, or a reason why the text is not a timestamp. */
export const parseTimestamp = (text: string): number | string => {
  if (epochSeconds.test(text)) return Number(text) * 1000
  const m = isoTimestamp.exec(text)
  if (m === null) return `bad timestamp ${quote(text)}: expected ISO 8601 (2014-04-01 00:05:00) or epoch seconds`
  const [, y, mo, d, h = "00", mi = "00", s = "00", fraction = "", zone = "Z"] = m
  const offset = zone === "Z" ? "Z" : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone
  const time = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}${offset}`)
  // Date.parse rolls 2014-02-30 over to March; a round trip of the date and time fields catches it
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)))
  if (
    Number.isNaN(time) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCHours() !== Number(h) || check.getUTCMinutes() !== Number(mi) || check.getUTCSeconds() !== Number(s)
  ) {
    return `bad timestamp ${quote(text)}: not a valid date and time`
  }
  return time
}

const unquote = (field: string): string => {
  const f = field.trim()
  return f.length >= 2 && f.startsWith("\"") && f.endsWith("\"") ? f.slice(1, -1).trim() : f
}

/**
 * The first row whose timestamp is earlier than the row before it.
 */
export interface OutOfOrder {
  readonly line: number
  readonly timestamp: string
  readonly previous: string
}

/**
 * A reader of one file, fed its text in chunks in order: it splits the lines
 * itself, so that it can refuse an over-long one before holding it. `feed`
 * and `end` hand each row read to `onRow` and return the `CsvSeriesError` of
 * the first malformed line, if any; `end` also reports a file without a header.
 */
export class CsvSeriesReader {
  readonly file: string
  readonly strict: boolean
  private line = 0
  private header = false
  private partial = ""
  private previous: CsvRow | undefined
  /** The first row that went back in time, if any. */
  outOfOrder: OutOfOrder | undefined

  constructor(file: string, options: { readonly strict?: boolean } = {}) {
    this.file = file
    this.strict = options.strict ?? false
  }

  private error(reason: string, line: number = this.line): CsvSeriesError {
    return new CsvSeriesError({ file: this.file, line, reason })
  }

  private tooLong(start: string): CsvSeriesError {
    const shown = JSON.stringify(start.slice(0, maxEchoLength))
    return this.error(`line longer than ${maxLineLength} characters, starting ${shown}...`, this.line + 1)
  }

  /** Reads the lines a chunk completes; stops at the first malformed one and returns its error. */
  feed(chunk: string, onRow: (row: CsvRow) => void): CsvSeriesError | undefined {
    let start = 0
    for (;;) {
      const newline = chunk.indexOf("\n", start)
      const end = newline === -1 ? chunk.length : newline
      if (this.partial.length + end - start > maxLineLength) {
        return this.tooLong(this.partial + chunk.slice(start, start + maxEchoLength))
      }
      if (newline === -1) {
        this.partial += chunk.slice(start)
        return undefined
      }
      const row = this.next(this.partial + chunk.slice(start, end))
      this.partial = ""
      start = end + 1
      if (row instanceof CsvSeriesError) return row
      if (row !== undefined) onRow(row)
    }
  }

  /** After the last chunk: reads the last line if it had no newline; an error also when the file held no header. */
  end(onRow: (row: CsvRow) => void): CsvSeriesError | undefined {
    const last = this.partial === "" ? undefined : this.next(this.partial)
    this.partial = ""
    if (last instanceof CsvSeriesError) return last
    if (!this.header) return this.error("empty file: expected the header \"timestamp,value\"", 1)
    if (last !== undefined) onRow(last)
    return undefined
  }

  private next(line: string): CsvRow | CsvSeriesError | undefined {
    this.line++
    const text = line.endsWith("\r") ? line.slice(0, -1) : line
    const raw = this.line === 1 ? text.replace(/^\uFEFF/, "") : text
    if (raw.trim() === "") return undefined
    const fields = raw.split(",")
    if (!this.header) {
      const names = fields.map((f) => unquote(f).toLowerCase())
      if (names.length !== 2 || names[0] !== "timestamp" || names[1] !== "value") {
        return this.error(`bad header ${quote(raw.trim())}: expected "timestamp,value"`)
      }
      this.header = true
      return undefined
    }
    if (fields.length !== 2) return this.error(`expected 2 columns (timestamp,value), found ${fields.length}`)
    const timestamp = unquote(fields[0]!)
    const valueText = unquote(fields[1]!)
    const time = parseTimestamp(timestamp)
    if (typeof time === "string") return this.error(time)
    if (!decimalNumber.test(valueText)) return this.error(`bad value ${quote(valueText)}: expected a number`)
    const value = Number(valueText)
    if (!Number.isFinite(value)) return this.error(`bad value ${quote(valueText)}: not a finite number`)
    const row = { timestamp, time, valueText, value }
    if (this.previous !== undefined && time < this.previous.time) {
      const backwards = `timestamp ${quote(timestamp)} is earlier than the row before it (${
        quote(this.previous.timestamp)
      })`
      if (this.strict) return this.error(`${backwards}; --strict wants rows in time order`)
      this.outOfOrder ??= { line: this.line, timestamp, previous: this.previous.timestamp }
    }
    this.previous = row
    return row
  }
}
