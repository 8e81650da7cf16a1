/**
 * The command-line program: `mcp-apm detect` throughput (rows per second
 * through the bounded line reader, in process), what a 50 MB line costs
 * before it is refused (time and heap growth), and how long the real demo
 * takes from SIGTERM to its exit (report printed, baselines written), median
 * of a few runs.
 */
import { NodeServices } from "@effect/platform-node"
import { detectStream } from "@mcp-apm/runtime/cli/DetectCommand"
import { Effect, Stream } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { median } from "simple-statistics"

const bin = join(import.meta.dirname, "../packages/runtime/src/bin/mcp-apm.ts")

const detect = (file: string) =>
  detectStream({ file, sensitivity: 2, windowSize: 20, profile: "metric", strict: false }).pipe(
    Stream.runFold(() => 0, (bytes, chunk) => bytes + chunk.length),
    Effect.provide(NodeServices.layer)
  )

const throughput = async (dir: string, rows: number) => {
  const file = join(dir, "series.csv")
  const start = Date.UTC(2014, 3, 1)
  let text = "timestamp,value\n"
  for (let i = 0; i < rows; i++) {
    text += `${new Date(start + i * 300_000).toISOString()},${(50 + 10 * Math.sin(i / 50)).toFixed(3)}\n`
  }
  writeFileSync(file, text)
  const timings: Array<number> = []
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now()
    await Effect.runPromise(detect(file))
    timings.push(performance.now() - t0)
  }
  return rows / (median(timings) / 1000)
}

const longLine = async (dir: string) => {
  const file = join(dir, "long-line.csv")
  writeFileSync(
    file,
    Buffer.concat([Buffer.from("timestamp,value\n"), Buffer.alloc(50_000_000, "x"), Buffer.from("\n")])
  )
  globalThis.gc?.()
  const heapBefore = process.memoryUsage().heapUsed
  const t0 = performance.now()
  const exit = await Effect.runPromiseExit(detect(file))
  const millis = performance.now() - t0
  return { refused: exit._tag === "Failure", millis, heapGrowth: process.memoryUsage().heapUsed - heapBefore }
}

const sigtermToExit = (dir: string) =>
  new Promise<{ millis: number; code: number | null }>((resolve) => {
    const child = spawn(process.execPath, [bin, "demo", "--duration", "600", "--port", "0", "--seed", "1"], {
      env: { ...process.env, APM_BASELINE_FILE: join(dir, "baselines.json") },
      stdio: ["ignore", "pipe", "ignore"]
    })
    let out = ""
    let sent = 0
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      out += text
      // the first progress line follows the ready line: the workload is running
      if (sent === 0 && /operations traced/.test(out)) {
        setTimeout(() => {
          sent = performance.now()
          child.kill("SIGTERM")
        }, 2000)
        sent = -1
      }
    })
    child.on("close", (code) => resolve({ millis: performance.now() - sent, code }))
  })

/** Runs the CLI benchmarks and prints their results. */
export const runCliBench = async () => {
  const dir = mkdtempSync(join(tmpdir(), "mcp-apm-cli-bench-"))
  try {
    const rowsPerSecond = await throughput(dir, 200_000)
    console.log(
      `\nmcp-apm detect: ${Math.round(rowsPerSecond).toLocaleString("en")} rows/s (200,000 rows, median of 3)`
    )
    const long = await longLine(dir)
    console.log(
      `mcp-apm detect, one 50 MB line: ${long.refused ? "refused" : "NOT refused"} after ${
        long.millis.toFixed(0)
      } ms, ` +
        `heap growth ${(long.heapGrowth / 1e6).toFixed(1)} MB`
    )
    const stops: Array<number> = []
    for (let round = 0; round < 3; round++) {
      const { code, millis } = await sigtermToExit(dir)
      if (code !== 143) console.log(`  demo exited ${code} on SIGTERM, expected 143`)
      stops.push(millis)
    }
    console.log(
      `mcp-apm demo, SIGTERM to exit: median ${median(stops).toFixed(0)} ms (${
        stops.map((m) => m.toFixed(0)).join(", ")
      })`
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.main) await runCliBench()
