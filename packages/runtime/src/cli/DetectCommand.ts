/**
 * `mcp-apm detect FILE.csv`: the library's `StreamingDetector`, offline.
 *
 * Reads a `timestamp,value` series (see `CsvSeries.ts`) and writes
 * `timestamp,value,anomaly_score,is_anomaly,severity` to standard output, one
 * row per input row (`is_anomaly` 1 or 0, `severity` empty unless flagged), with the same detector and the same defaults as the
 * library. The default profile is `metric`, since a CSV export is usually a
 * gauge or counter; `--profile latency` judges operation durations the way the
 * Apm layer does.
 *
 * The file is streamed: read in chunks, split into lines, scored and written
 * chunk by chunk, so memory does not grow with the file, nor with a line (one
 * longer than `maxLineLength` is an error). The first malformed line stops
 * the command with an error naming the file and the line; rows before it have
 * already been written, as a stream must. Timestamps going back in time are a
 * warning on stderr (the first such line), or with `--strict` an error.
 */
import { Console, Effect, FileSystem, Stdio, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { defaultDetectorOptions, StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import type { DetectorProfileName } from "@mcp-apm/core/StreamingDetector"
import { CsvSeriesError, CsvSeriesReader, quote } from "./CsvSeries.ts"
import type { CsvRow } from "./CsvSeries.ts"

const outputHeader = "timestamp,value,anomaly_score,is_anomaly,severity"

export interface DetectConfig {
  readonly file: string
  readonly sensitivity: number
  readonly windowSize: number
  readonly profile: DetectorProfileName
  readonly strict: boolean
}

/** A row of the output CSV. */
const outputRow = (row: CsvRow, detector: StreamingDetector): string => {
  const a = detector.assess(row.value)
  return `${row.timestamp},${row.valueText},${a.score},${a.isAnomaly ? 1 : 0},${a.severity ?? ""}\n`
}

/**
 * The output CSV of a file, as a stream of text chunks (the header first).
 * The first row that goes back in time is reported on stderr as a warning
 * (`strict`: an error).
 */
export const detectStream = (config: DetectConfig): Stream.Stream<string, CsvSeriesError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const reader = new CsvSeriesReader(config.file, { strict: config.strict })
    const detector = new StreamingDetector({
      sensitivity: config.sensitivity,
      windowSize: config.windowSize,
      profile: config.profile
    })
    let written = false
    let warned = false
    const warnOutOfOrder = Effect.suspend(() => {
      const first = reader.outOfOrder
      if (first === undefined || warned) return Effect.void
      warned = true
      return Console.error(
        `${config.file}:${first.line}: warning: timestamp ${quote(first.timestamp)} is earlier than the row ` +
          `before it (${quote(first.previous)}); rows are scored in file order (--strict makes this an error)`
      )
    })
    // The header goes out with the first row (or at the end), so that a file failing at once writes nothing.
    const output = (read: (onRow: (row: CsvRow) => void) => CsvSeriesError | undefined, last: boolean) =>
      Stream.suspend(() => {
        let out = ""
        const error = read((row) => {
          out += outputRow(row, detector)
        })
        if (!written && (out !== "" || (last && error === undefined))) {
          out = `${outputHeader}\n${out}`
          written = true
        }
        const rows = Stream.fromEffect(Effect.as(warnOutOfOrder, out))
        return error === undefined ? rows : Stream.concat(rows, Stream.fail(error))
      })
    return fs.stream(config.file).pipe(
      Stream.mapError((e) =>
        new CsvSeriesError({
          file: config.file,
          line: 0,
          reason: e.reason._tag === "NotFound" ? "no such file" : `cannot read: ${e.message}`
        })
      ),
      Stream.decodeText,
      // one stream per chunk of text, not per line: the loop over its lines is plain code
      Stream.flatMap((chunk) => output((onRow) => reader.feed(chunk, onRow), false)),
      Stream.concat(output((onRow) => reader.end(onRow), true)),
      Stream.filter((text) => text.length > 0)
    )
  }))

const file = Argument.String("file").pipe(
  Argument.withDescription("a CSV file with the header timestamp,value (ISO 8601 timestamps or epoch seconds)")
)
const sensitivity = Flag.Finite("sensitivity").pipe(
  Flag.withDescription("higher flags less: the profile's score threshold times sensitivity / 2"),
  Flag.filter((s) => s > 0, () => "a number greater than 0"),
  Flag.withDefault(defaultDetectorOptions.sensitivity)
)
const windowSize = Flag.Int("window-size").pipe(
  Flag.withDescription("the recent window judged for sustained shifts"),
  Flag.filter((n) => n >= 1, () => "a whole number >= 1"),
  Flag.withDefault(defaultDetectorOptions.windowSize)
)
const profile = Flag.Literals("profile", ["metric", "latency"]).pipe(
  Flag.withDescription("metric: gauges and counters (CPU %, bytes, counts); latency: operation durations"),
  Flag.withDefault("metric")
)

const strict = Flag.Boolean("strict").pipe(
  Flag.withDescription("fail on a row whose timestamp is earlier than the row before it (default: a warning)"),
  Flag.withDefault(false)
)

export const detectCommand = Command.make(
  "detect",
  { file, sensitivity, windowSize, profile, strict },
  (config) =>
    Effect.gen(function*() {
      const stdio = yield* Stdio.Stdio
      yield* detectStream(config).pipe(
        Stream.run(stdio.stdout()),
        // a closed pipe (`| head`) is not the file's fault
        Effect.catchTag("PlatformError", () => Effect.void)
      )
    })
).pipe(
  Command.withDescription(
    "score every row of a timestamp,value CSV; writes timestamp,value,anomaly_score,is_anomaly,severity"
  )
)
