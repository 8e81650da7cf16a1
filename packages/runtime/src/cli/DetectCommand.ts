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
 * chunk by chunk, so memory does not grow with the file. The first malformed
 * line stops the command with an error naming the file and the line; rows
 * before it have already been written, as a stream must.
 */
import { Effect, FileSystem, Stdio, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { defaultDetectorOptions, StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import type { DetectorProfileName } from "@mcp-apm/core/StreamingDetector"
import { CsvSeriesError, CsvSeriesReader } from "./CsvSeries.ts"

export const OUTPUT_HEADER = "timestamp,value,anomaly_score,is_anomaly,severity"

export interface DetectConfig {
  readonly file: string
  readonly sensitivity: number
  readonly windowSize: number
  readonly profile: DetectorProfileName
}

/** The output CSV of a file, as a stream of text chunks (the header first). */
export const detectStream = (config: DetectConfig): Stream.Stream<string, CsvSeriesError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const reader = new CsvSeriesReader(config.file)
    let written = false
    const detector = new StreamingDetector({
      sensitivity: config.sensitivity,
      windowSize: config.windowSize,
      profile: config.profile
    })
    const rows = fs.stream(config.file).pipe(
      Stream.mapError((e) =>
        new CsvSeriesError({
          file: config.file,
          line: 0,
          reason: e.reason._tag === "NotFound" ? "no such file" : `cannot read: ${e.message}`
        })
      ),
      Stream.decodeText,
      Stream.splitLines,
      // one effect per chunk of lines, not per line: the loop is plain code
      Stream.mapArrayEffect((lines) =>
        Effect.suspend(() => {
          // the header goes out with the first row, so that a file failing at once writes nothing
          let out = written ? "" : `${OUTPUT_HEADER}\n`
          for (const line of lines) {
            const row = reader.next(line)
            if (row === undefined) continue
            if (row instanceof CsvSeriesError) return Effect.fail(row)
            const a = detector.assess(row.value)
            out += `${row.timestamp},${row.valueText},${a.score},${a.isAnomaly ? 1 : 0},${a.severity ?? ""}\n`
            written = true
          }
          return Effect.succeed([written ? out : ""])
        })
      ),
      Stream.filter((chunk) => chunk.length > 0)
    )
    const finish = Stream.fromEffect(Effect.suspend(() => {
      const error = reader.finish()
      if (error !== undefined) return Effect.fail(error)
      return Effect.succeed(written ? "" : `${OUTPUT_HEADER}\n`)
    })).pipe(Stream.filter((chunk) => chunk.length > 0))
    return rows.pipe(Stream.concat(finish))
  }))

const file = Argument.String("file").pipe(
  Argument.withDescription("a CSV file with the header timestamp,value (ISO 8601 timestamps or epoch seconds)")
)
const sensitivity = Flag.Finite("sensitivity").pipe(
  Flag.withDescription("higher flags less: the profile's score threshold times sensitivity / 2"),
  Flag.withDefault(defaultDetectorOptions.sensitivity)
)
const windowSize = Flag.Int("window-size").pipe(
  Flag.withDescription("the recent window judged for sustained shifts"),
  Flag.withDefault(defaultDetectorOptions.windowSize)
)
const profile = Flag.Literals("profile", ["metric", "latency"]).pipe(
  Flag.withDescription("metric: gauges and counters (CPU %, bytes, counts); latency: operation durations"),
  Flag.withDefault("metric")
)

export const detectCommand = Command.make(
  "detect",
  { file, sensitivity, windowSize, profile },
  (config) =>
    Effect.gen(function*() {
      if (!(config.sensitivity > 0)) {
        return yield* new CsvSeriesError({ file: config.file, line: 0, reason: "--sensitivity must be > 0" })
      }
      if (config.windowSize < 1) {
        return yield* new CsvSeriesError({ file: config.file, line: 0, reason: "--window-size must be >= 1" })
      }
      const stdio = yield* Stdio.Stdio
      yield* detectStream(config).pipe(
        Stream.run(stdio.stdout()),
        // a closed pipe (`| head`) is not the file's fault
        Effect.catchTag("PlatformError", () => Effect.void)
      )
    })
).pipe(
  Command.withDescription("score every row of a timestamp,value CSV; writes timestamp,value,anomaly_score,is_anomaly,severity")
)
