/**
 * `mcp-apm detect`, run as the real program in a child process (the Node
 * running vitest is the project's Node 24, which runs `.ts` directly), on
 * temporary CSV files.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import * as CliProcess from "./support/cliProcess.ts"

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/bin/mcp-apm.ts")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcp-apm-detect-"))
let files = 0
const csv = (text: string): string => {
  const file = path.join(dir, `series-${files++}.csv`)
  fs.writeFileSync(file, text)
  return file
}
// asynchronous, so that the concurrent tests start their processes side by side
const run = (...args: Array<string>) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    })
  })

// a gauge around 50 with a level jump to 90 at row 400
const values = Array.from({ length: 600 }, (_, i) => (i < 400 ? 50 : 90) + 3 * Math.sin(i * 1.7) + (i % 7) * 0.3)
const isoSeries = "timestamp,value\n" + values.map((v, i) => {
  const t = new Date(Date.UTC(2014, 3, 1) + i * 300_000).toISOString().replace("T", " ").slice(0, 19)
  return `${t},${v}`
}).join("\n") + "\n"

// each test starts Node and effect/cli: about a second, many more when other work shares the two cores
describe.concurrent("mcp-apm detect", { timeout: 60_000 }, () => {
  it("writes one scored row per input row, matching the library's scores", async () => {
    const r = await run("detect", csv(isoSeries))
    assert.strictEqual(r.status, 0, r.stderr)
    const lines = r.stdout.trimEnd().split("\n")
    assert.strictEqual(lines[0], "timestamp,value,anomaly_score,is_anomaly,severity")
    assert.strictEqual(lines.length, values.length + 1)
    const detector = new StreamingDetector({ profile: "metric" })
    lines.slice(1).forEach((line, i) => {
      const [timestamp, value, score, flag, severity, ...rest] = line.split(",")
      assert.strictEqual(rest.length, 0)
      assert.match(timestamp!, /^2014-04-0\d \d\d:\d\d:00$/)
      assert.strictEqual(Number(value), values[i])
      const a = detector.assess(values[i]!)
      assert.strictEqual(Number(score), a.score)
      assert.strictEqual(flag, a.isAnomaly ? "1" : "0")
      assert.strictEqual(severity, a.severity ?? "")
    })
    assert.isTrue(lines.slice(401, 421).some((l) => l.split(",")[3] === "1"), "the level jump is flagged")
  })

  it("reads epoch seconds and ISO timestamps with T and Z", async () => {
    const epoch = await run("detect", csv("timestamp,value\n1396310400,1.5\n1396310700.5,2\n"))
    assert.strictEqual(epoch.status, 0, epoch.stderr)
    assert.deepStrictEqual(epoch.stdout.trimEnd().split("\n").slice(1).map((l) => l.split(",").slice(0, 2)), [
      ["1396310400", "1.5"],
      ["1396310700.5", "2"]
    ])
    const iso = await run(
      "detect",
      csv("timestamp,value\r\n2014-04-01T00:05:00Z,3\r\n\"2014-04-01T00:10:00+02:00\",4\r\n")
    )
    assert.strictEqual(iso.status, 0, iso.stderr)
    assert.strictEqual(iso.stdout.trimEnd().split("\n").length, 3)
  })

  it("honours --profile, --sensitivity and --window-size", async () => {
    const file = csv(isoSeries)
    const scores = async (...flags: Array<string>) =>
      (await run("detect", ...flags, file)).stdout.trimEnd().split("\n").slice(1).map((l) => l.split(","))
    const [latency, lax, standard] = await Promise.all([
      scores("--profile", "latency", "--sensitivity", "3", "--window-size", "10"),
      scores("--sensitivity", "0.2"),
      scores()
    ])
    const detector = new StreamingDetector({ profile: "latency", sensitivity: 3, windowSize: 10 })
    latency.forEach((row, i) => {
      const a = detector.assess(values[i]!)
      assert.strictEqual(Number(row[2]), a.score)
      assert.strictEqual(row[3], a.isAnomaly ? "1" : "0")
    })
    const metric = new StreamingDetector({ profile: "metric", sensitivity: 0.2 })
    lax.forEach((row, i) => assert.strictEqual(row[3], metric.assess(values[i]!).isAnomaly ? "1" : "0"))
    assert.isAbove(lax.filter((r) => r[3] === "1").length, standard.filter((r) => r[3] === "1").length)
  })

  describe.concurrent("a malformed file: non-zero exit and stderr naming the file and line", () => {
    const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
      ["bad header", "time,value\n2014-04-01 00:00:00,1\n", /:1: bad header "time,value"/],
      [
        "too many columns",
        "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,1,2\n",
        /:3: expected 2 columns/
      ],
      ["too few columns", "timestamp,value\n2014-04-01 00:00:00\n", /:2: expected 2 columns/],
      ["non-numeric value", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,abc\n", /:3: bad value "abc"/],
      ["empty value", "timestamp,value\n2014-04-01 00:00:00,\n", /:2: bad value ""/],
      ["bad timestamp", "timestamp,value\n2014-04-01 00:00:00,1\nyesterday,2\n", /:3: bad timestamp "yesterday"/],
      ["impossible date", "timestamp,value\n2014-02-30 00:00:00,1\n", /:2: bad timestamp "2014-02-30 00:00:00"/],
      ["empty file", "", /:1: empty file/]
    ]
    for (const [name, text, expected] of cases) {
      it(name, async () => {
        const file = csv(text)
        const r = await run("detect", file)
        assert.notStrictEqual(r.status, 0)
        assert.include(r.stderr, file)
        assert.match(r.stderr, expected)
      })
    }
    it("missing file", async () => {
      const file = path.join(dir, "missing.csv")
      const r = await run("detect", file)
      assert.notStrictEqual(r.status, 0)
      assert.include(r.stderr, `${file}: no such file`)
      assert.strictEqual(r.stdout, "")
    })
  })

  describe.concurrent("untrusted input", () => {
    it("a 50 MB line: an error with the file and line, read in bounded memory, quoting at most 200 characters", async () => {
      const file = path.join(dir, "long-line.csv")
      const head = "timestamp,value\n2014-04-01 00:00:00,1\n"
      fs.writeFileSync(file, Buffer.concat([Buffer.from(head), Buffer.alloc(50_000_000, "x"), Buffer.from("\n")]))
      try {
        // a heap smaller than the line: holding it would crash the process instead of reporting it
        const r = await CliProcess.run(["detect", file], {}, ["--max-old-space-size=48"])
        assert.strictEqual(r.code, 1, r.stderr)
        assert.include(r.stderr, `${file}:3: line longer than 1024 characters, starting "${"x".repeat(200)}"...`)
        assert.notInclude(r.stderr, "x".repeat(201))
        assert.notMatch(r.stderr, CliProcess.stackFrame)
        // the row before it is written, as a stream must
        assert.strictEqual(r.stdout, "timestamp,value,anomaly_score,is_anomaly,severity\n2014-04-01 00:00:00,1,0,0,\n")
      } finally {
        fs.unlinkSync(file)
      }
    })

    const backwards = [
      "timestamp,value",
      "2014-04-01 00:00:00,1",
      "2014-04-01 00:10:00,2",
      "2014-04-01 00:05:00,3",
      "2014-04-01 00:01:00,4",
      "2014-04-01 00:20:00,5"
    ].join("\n") + "\n"

    it("timestamps going back: one warning with the first such line; every row still scored", async () => {
      const file = csv(backwards)
      const r = await run("detect", file)
      assert.strictEqual(r.status, 0, r.stderr)
      assert.strictEqual(r.stdout.trimEnd().split("\n").length, 6)
      const warnings = r.stderr.trimEnd().split("\n")
      assert.strictEqual(warnings.length, 1)
      assert.include(
        warnings[0],
        `${file}:4: warning: timestamp "2014-04-01 00:05:00" is earlier than the row before it ("2014-04-01 00:10:00")`
      )
      assert.include(warnings[0], "--strict")
    })

    it("--strict: timestamps going back are an error at the first such line", async () => {
      const file = csv(backwards)
      const r = await run("detect", "--strict", file)
      assert.notStrictEqual(r.status, 0)
      assert.include(r.stderr, `${file}:4: timestamp "2014-04-01 00:05:00" is earlier than the row before it`)
      assert.strictEqual(r.stdout.trimEnd().split("\n").length, 3)
    })
  })

  // one process each: a few cases, not every way a number can be wrong (the flags' parsers are effect/cli's)
  describe.concurrent("a bad flag value is a usage error: exit code 2, the flag, the value and what it takes", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [["--sensitivity", "0"], `--sensitivity: "0". Expected: a number greater than 0`],
      [["--sensitivity", "abc"], `--sensitivity: "abc". Expected a string representing a finite number`],
      [["--window-size", "0"], `--window-size: "0". Expected: a whole number >= 1`],
      [["--profile", "gauge"], `--profile: "gauge". Expected: "metric" | "latency"`]
    ]
    for (const [flags, expected] of cases) {
      // the file does not exist either: the flag is what is named, not a CSV error about the file
      it(flags.join(" "), async () => {
        const file = path.join(dir, "never-read.csv")
        const r = await run("detect", ...flags, file)
        assert.strictEqual(r.status, 2, r.stderr)
        assert.include(r.stderr, expected)
        assert.notInclude(r.stderr, file)
        assert.strictEqual(r.stdout, "")
      })
    }
    it("--sensitivity without a value", async () => {
      const r = await run("detect", csv(isoSeries), "--sensitivity")
      assert.strictEqual(r.status, 2, r.stderr)
      assert.include(r.stderr, "Missing value for flag --sensitivity")
      assert.strictEqual(r.stdout, "")
    })
  })

  it("has help", async () => {
    const help = (await run("detect", "--help")).stdout
    assert.include(help, "--sensitivity")
    assert.include(help, "--window-size")
    assert.include(help, "--profile")
    assert.include(help, "--strict")
  })
})
