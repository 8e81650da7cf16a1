import { assert, describe, it } from "@effect/vitest"
import { BaselineStore } from "@mcp-apm/core"
import { Effect, Fiber } from "effect"
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { readSnapshotsForever } from "./support/baselineReader.ts"

const fixture = fileURLToPath(new URL("./fixtures/baseline-program.ts", import.meta.url))

interface Outcome {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly warnings: ReadonlyArray<string>
}

/**
 * Runs the fixture service in its own `node` process to its end; killed if it
 * is still running after 25 s. With `terminateOn`, sent SIGTERM once it
 * prints that text.
 */
const runFixture = (env: Record<string, string>, terminateOn?: string) =>
  Effect.callback<Outcome>((resume) => {
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, APM_HTTP_PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    let terminated = false
    child.stdout.on("data", (chunk) => {
      output += chunk
      if (terminateOn !== undefined && !terminated && output.includes(terminateOn)) {
        terminated = true
        child.kill("SIGTERM")
      }
    })
    child.stderr.on("data", (chunk) => (output += chunk))
    const guard = setTimeout(() => child.kill("SIGKILL"), 25_000)
    child.on("exit", (code, signal) => {
      clearTimeout(guard)
      resume(Effect.succeed({ code, signal, warnings: output.split("\n").filter((line) => /\bWARN\b/.test(line)) }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("BaselineStore in a real process", () => {
  it.live(
    "a baseline file under /proc: the process ends by itself with code 0 and one warning",
    () =>
      Effect.gen(function*() {
        const file = `/proc/apm-baselines-${process.pid}/baselines.json`
        const { code, signal, warnings } = yield* runFixture({ APM_BASELINE_FILE: file })
        assert.strictEqual(signal, null, "not killed: it did not hang")
        assert.strictEqual(code, 0)
        assert.strictEqual(warnings.length, 1, warnings.join("\n"))
        assert.include(warnings[0], file)
      }),
    30_000
  )

  it.live(
    "two processes saving one file at once: no collision, every read whole, no temporary file left",
    () =>
      Effect.gen(function*() {
        const directory = mkdtempSync(join(tmpdir(), "apm-baselines-shared-"))
        mkdirSync(directory, { recursive: true })
        const file = join(directory, "baselines.json")
        const leftover = join(directory, "baselines.json.1234.crashed.tmp") // what a crash mid-write leaves
        writeFileSync(leftover, "{\"format\":")
        const anHourAgo = new Date(Date.now() - 3_600_000)
        utimesSync(leftover, anHourAgo, anHourAgo)
        const reads = { whole: 0, broken: 0 }
        const reader = readSnapshotsForever(file, "2 millis", reads)
        const readerFiber = yield* Effect.forkChild(reader)
        const env = { APM_BASELINE_FILE: file, APM_BASELINE_UPDATE_INTERVAL: "0.005", FIXTURE_OPERATIONS: "300" }
        const outcomes = yield* Effect.all([runFixture(env), runFixture(env)], { concurrency: 2 })
        yield* Fiber.interrupt(readerFiber)
        for (const { code, signal, warnings } of outcomes) {
          assert.strictEqual(signal, null)
          assert.strictEqual(code, 0)
          assert.deepStrictEqual(warnings, [])
        }
        assert.strictEqual(reads.broken, 0)
        assert.isAbove(reads.whole, 0)
        assert.deepStrictEqual(readdirSync(directory), ["baselines.json"], "the leftover removed, no new one")
        const { dropped, snapshot } = yield* BaselineStore.decodeSnapshot(readFileSync(file, "utf8"))
        assert.strictEqual(dropped, 0)
        assert.isDefined(snapshot.operations.find((operation) => operation.operationName === "fixture_work")?.baseline)
      }),
    60_000
  )

  it.live("SIGTERM: the process still saves what it learned on its way out", () =>
    Effect.gen(function*() {
      const file = join(mkdtempSync(join(tmpdir(), "apm-baselines-sigterm-")), "baselines.json")
      const env = { APM_BASELINE_FILE: file, FIXTURE_OPERATIONS: "1000000" }
      const { signal, warnings } = yield* runFixture(env, "first operation traced")
      assert.strictEqual(signal, null, "ended by itself, not killed")
      assert.deepStrictEqual(warnings, [])
      const { snapshot } = yield* BaselineStore.decodeSnapshot(readFileSync(file, "utf8"))
      const work = snapshot.operations.find((operation) => operation.operationName === "fixture_work")
      assert.isAbove(work?.samples.length ?? 0, 0)
    }), 30_000)
})
