/**
 * `CsvSeriesReader` in process, fed text in chunks as `mcp-apm detect` feeds
 * it: lines split across chunks, an over-long line refused before it is held,
 * quotes of bad input capped, timestamps going back in time.
 */
import { assert, describe, it } from "@effect/vitest"
import { CsvSeriesError, CsvSeriesReader, maxEchoLength, maxLineLength } from "../src/cli/CsvSeries.ts"
import type { CsvRow } from "../src/cli/CsvSeries.ts"

/** Feeds `chunks` then ends; the rows read and the error, if any. */
const read = (chunks: ReadonlyArray<string>, options: { readonly strict?: boolean } = {}) => {
  const reader = new CsvSeriesReader("series.csv", options)
  const rows: Array<CsvRow> = []
  const onRow = (row: CsvRow) => void rows.push(row)
  for (const chunk of chunks) {
    const error = reader.feed(chunk, onRow)
    if (error !== undefined) return { reader, rows, error }
  }
  return { reader, rows, error: reader.end(onRow) }
}

describe("CsvSeriesReader", () => {
  it("joins lines split across chunks, reads CRLF and a last line without a newline", () => {
    const { rows, error } = read(["times", "tamp,value\r\n2014-04-01 00:00:00,1", ".5\r\n", "2014-04-01 00:05:00,2"])
    assert.isUndefined(error)
    assert.deepStrictEqual(rows.map((r) => [r.timestamp, r.value]), [["2014-04-01 00:00:00", 1.5], [
      "2014-04-01 00:05:00",
      2
    ]])
  })

  it("refuses an over-long line at its line number while it arrives, never holding more than the limit", () => {
    const reader = new CsvSeriesReader("series.csv")
    const onRow = () => {}
    assert.isUndefined(reader.feed("timestamp,value\n2014-04-01 00:00:00,1\n", onRow))
    let error: CsvSeriesError | undefined
    let fed = 0
    // 64 KiB chunks of one endless line, as a file stream delivers them
    while (error === undefined && fed < 100) {
      error = reader.feed("7".repeat(65_536), onRow)
      fed++
    }
    assert.strictEqual(fed, 1, "refused in the first chunk past the limit")
    assert.instanceOf(error, CsvSeriesError)
    assert.strictEqual(error!.line, 3)
    assert.strictEqual(
      error!.message,
      `series.csv:3: line longer than ${maxLineLength} characters, starting "${"7".repeat(maxEchoLength)}"...`
    )
  })

  it("a line of exactly the limit is read; one character more is refused", () => {
    // a line of `length` characters: a timestamp and a long (finite) fraction
    const value = (length: number) => "0." + "1".repeat(length - "2014-04-01 00:00:00,0.".length)
    const fits = read([`timestamp,value\n2014-04-01 00:00:00,${value(maxLineLength)}\n`])
    assert.isUndefined(fits.error)
    assert.strictEqual(fits.rows.length, 1)
    const over = read([`timestamp,value\n2014-04-01 00:00:00,${value(maxLineLength + 1)}\n`])
    assert.match(over.error!.message, /^series\.csv:2: line longer than 1024 characters/)
  })

  it("quotes at most 200 characters of bad input, escaped, with its length", () => {
    const bad = "\u001b[31m" + "z".repeat(600)
    const { error } = read([`timestamp,value\n2014-04-01 00:00:00,${bad}\n`])
    assert.strictEqual(
      error!.message,
      `series.csv:2: bad value ${JSON.stringify(bad.slice(0, 200))}... (${bad.length} characters): expected a number`
    )
    assert.notInclude(error!.message, "\u001b")
  })

  const backwards = [
    "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:10:00,2\n",
    "2014-04-01 00:05:00,3\n2014-04-01 00:01:00,4\n2014-04-01 00:20:00,5\n"
  ]

  it("keeps the first row whose timestamp goes back, and reads on", () => {
    const { reader, rows, error } = read(backwards)
    assert.isUndefined(error)
    assert.strictEqual(rows.length, 5)
    assert.deepStrictEqual(reader.outOfOrder, {
      line: 4,
      timestamp: "2014-04-01 00:05:00",
      previous: "2014-04-01 00:10:00"
    })
  })

  it("strict: a timestamp going back is an error at its line; the rows before it are read", () => {
    const { rows, error } = read(backwards, { strict: true })
    assert.strictEqual(rows.length, 2)
    assert.strictEqual(error!.line, 4)
    assert.include(
      error!.reason,
      `timestamp "2014-04-01 00:05:00" is earlier than the row before it ("2014-04-01 00:10:00")`
    )
  })

  it("equal timestamps are not going back", () => {
    const { reader, error } = read(["timestamp,value\n1396310400,1\n1396310400,2\n"], { strict: true })
    assert.isUndefined(error)
    assert.isUndefined(reader.outOfOrder)
  })
})
