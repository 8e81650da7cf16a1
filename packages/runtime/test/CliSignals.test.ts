/**
 * The real demo stopped by a signal, and run to its end: SIGTERM and SIGINT
 * after the ready line shut it down cleanly, with the conventional codes 143
 * and 130 (128 + the signal number, as a shell reports a process a signal
 * stopped), after printing the report and writing the baselines, and
 * stop the embedded PostgreSQL; `--port 0` prints the port it got, and a
 * bounded run exits 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as EmbeddedPostgres from "../src/EmbeddedPostgres.ts"
import { stackFrame, start } from "./support/cliProcess.ts"

/** The operation names in the baseline file: present only if the shutdown wrote what the run learned. */
const savedOperations = (file: string): string => {
  assert.isTrue(existsSync(file), `${file} was written`)
  return readFileSync(file, "utf8")
}

/** Waits until `/metrics` shows traced work, so that the baselines have something to keep. */
const traced = async (url: string): Promise<void> => {
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text()
    if (/apm_operations_total\{operation_name="model_router\.route"/.test(metrics)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** A temporary directory for the demo's own (PostgreSQL runs as nobody under root, so others may enter it). */
const demoTemporary = (): string => {
  const directory = mkdtempSync(join(tmpdir(), "mcp-apm-signals-"))
  chmodSync(directory, 0o755)
  return directory
}

/** With PostgreSQL installed (always in CI), the demo stored its plans there, then stopped it and removed its files. */
const postgresStopped = (stdout: string, temporary: string): void => {
  if (process.env["CI"] !== "true" && !EmbeddedPostgres.isInstalled()) return
  assert.match(stdout, /^plan storage: PostgreSQL /m)
  assert.deepStrictEqual(readdirSync(temporary).filter((name) => name.startsWith("mcp-apm-pg-")), [])
}

// each test starts Node and the demo (a few seconds on a busy machine)
describe.concurrent("mcp-apm demo: signals and bounded runs", { timeout: 45_000 }, () => {
  it("SIGTERM: report, baselines written, exit 143; --port 0 prints the real port; PostgreSQL stopped", async () => {
    const temporary = demoTemporary()
    const demo = start(["demo", "--duration", "600", "--port", "0", "--seed", "11"], { TMPDIR: temporary })
    const url = await demo.ready
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.notMatch(url, /:(0|9464)$/)
    const health = await fetch(`${url}/health`)
    assert.strictEqual(await health.text(), "ok")
    await traced(url)
    demo.kill("SIGTERM")
    const r = await demo.finished
    assert.strictEqual(r.code, 143, r.stderr)
    assert.include(r.stdout, "seed 11")
    assert.match(r.stdout, /^operation +count +ok% +p50 +p95 +p99 +baseline p95$/m)
    assert.include(savedOperations(demo.baselineFile), "model_router.route")
    assert.notMatch(r.stderr, stackFrame)
    postgresStopped(r.stdout, temporary)
  })

  it("SIGINT (Ctrl-C): baselines written, exit code 130, PostgreSQL stopped", async () => {
    const temporary = demoTemporary()
    const demo = start(["demo", "--duration", "600", "--port", "0"], { TMPDIR: temporary })
    const url = await demo.ready
    await traced(url)
    demo.kill("SIGINT")
    const r = await demo.finished
    assert.strictEqual(r.code, 130, r.stderr)
    assert.include(savedOperations(demo.baselineFile), "model_router.route")
    assert.notMatch(r.stderr, stackFrame)
    postgresStopped(r.stdout, temporary)
  })

  // A request that never finishes would hold the HTTP server's graceful close for its 20 s. The test's timeout
  // is shorter than that from the signal on, however slow the start: a shutdown that waits for the peer fails it.
  it(
    "SIGTERM while a peer holds a half-sent request: exit 143 by APM_SHUTDOWN_TIMEOUT + 1 s",
    { timeout: 19_000 },
    async () => {
      // plans in the process: no PostgreSQL to start within the test's budget
      const demo = start(["demo", "--duration", "600", "--port", "0", "--plans", "memory"], {
        APM_SHUTDOWN_TIMEOUT: "1 second"
      })
      const url = new URL(await demo.ready)
      const peer = connect(Number(url.port), url.hostname)
      peer.on("error", () => {})
      await new Promise<void>((resolve) => peer.once("connect", resolve))
      peer.write("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")
      await traced(url.origin)
      demo.kill("SIGTERM")
      const r = await demo.finished
      peer.destroy()
      assert.strictEqual(r.code, 143, r.stderr)
      // either the deadline cut the wait short, or the server let go of the peer within the budget by itself
      assert.isTrue(
        r.stderr.includes("Shutdown still running 1s past APM_SHUTDOWN_TIMEOUT (1s): exiting now.") ||
          existsSync(demo.baselineFile),
        r.stderr
      )
    }
  )

  it("--duration bounds the run: exit code 0, the seed and the fault setting in the first line", async () => {
    const demo = start([
      "demo",
      "--duration",
      "2",
      "--port",
      "0",
      "--seed",
      "42",
      "--rate",
      "40",
      "--faults",
      "none",
      "--plans",
      "memory"
    ])
    const r = await demo.finished
    assert.strictEqual(r.code, 0, r.stderr)
    const first = r.stdout.split("\n").find((line) => line.startsWith("mcp-apm demo:"))
    assert.strictEqual(first, "mcp-apm demo: five MCP services, 40 operations/s for 2s, seed 42; no fault.")
    assert.match(r.stdout, /^metrics: http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics/m)
    assert.include(r.stdout, "model_router.route")
    assert.notInclude(r.stdout, "fails often")
    assert.include(savedOperations(demo.baselineFile), "model_router.route")
    assert.include(r.stdout, "plan storage: in process (--plans memory)")
  })
})
