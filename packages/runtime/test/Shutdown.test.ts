import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { temporaryDirectory } from "./support/live.ts"
import { type Behaviour, collector } from "./support/SpanExportCollector.ts"

const program = join(import.meta.dirname, "fixtures", "export-program.ts")
// An export that hangs is given two minutes by the exporters, far past the test's own 20 s kill: a
// process that exits by itself did so because APM_SHUTDOWN_TIMEOUT (3 s by default) cut the flush
// short, whatever the speed of the machine.
const exportTimeoutMillis = "120000"
const killAfterMillis = 20_000

interface Run {
  /** null when the test had to kill it */
  readonly code: number | null
  readonly stdout: string
}

/**
 * Runs the fixture: `operations` traced operations over one second, spans
 * exported to `endpoint` every 100 ms, so that an export is under way when
 * the work ends, or with `finalFlush` at the SDK's 5 s, so that every span
 * waits for the shutdown's flush.
 */
const run = (endpoint: string, operations: number, options: { readonly finalFlush?: boolean } = {}) =>
  Effect.callback<Run>((resume) => {
    const env: Record<string, string | undefined> = {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_BSP_SCHEDULE_DELAY: options.finalFlush === true ? undefined : "100",
      OTEL_EXPORTER_OTLP_TIMEOUT: exportTimeoutMillis,
      OTEL_BSP_EXPORT_TIMEOUT: exportTimeoutMillis,
      APM_HTTP_PORT: "0",
      APM_BASELINE_FILE: join(temporaryDirectory("shutdown"), "baselines.json")
    }
    delete env["APM_SHUTDOWN_TIMEOUT"]
    const child = spawn(process.execPath, [program, String(operations), "1000"], { env })
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk.toString("utf8")))
    child.stderr.on("data", (chunk: Buffer) => void (stdout += chunk.toString("utf8")))
    const killer = setTimeout(() => child.kill("SIGKILL"), killAfterMillis)
    child.on("exit", (code) => {
      clearTimeout(killer)
      resume(Effect.succeed({ code, stdout }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** An endpoint nothing listens on: a port the system handed out, closed again. */
const deadEndpoint = Effect.promise(() =>
  new Promise<string>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(`http://127.0.0.1:${port}`))
    })
  })
)

const assertCleanExit = (result: Run) => {
  assert.strictEqual(result.code, 0, result.stdout)
  assert.include(result.stdout, "work done")
}

describe("Shutdown", () => {
  for (const finalFlush of [false, true]) {
    const when = finalFlush ? "all at shutdown" : "while it works"
    it.live(
      `with a healthy collector every span arrives (${when}), and the process exits 0`,
      () =>
        Effect.gen(function*() {
          const c = yield* collector({ _tag: "ok" })
          const result = yield* run(c.endpoint, 3000, { finalFlush })
          assertCleanExit(result)
          assert.strictEqual(c.accepted.filter((s) => s.name === "export_op").length, 3000)
          assert.notInclude(result.stdout, "Dropped")
        }),
      30_000
    )
  }

  const failing: ReadonlyArray<[string, Behaviour, boolean]> = [
    ["hanging", { _tag: "hang" }, false],
    ["503", { _tag: "status", status: 503 }, false],
    // The flush at shutdown used to reject with the exporter's error and the program exited 1.
    ["400", { _tag: "status", status: 400 }, true]
  ]
  for (const [name, behaviour, finalFlush] of failing) {
    it.live(
      `with a ${name} collector the process exits 0 by itself: APM_SHUTDOWN_TIMEOUT cuts the flush short`,
      () =>
        Effect.gen(function*() {
          const c = yield* collector(behaviour)
          const result = yield* run(c.endpoint, 3000, { finalFlush })
          assertCleanExit(result)
          assert.include(result.stdout, "Dropped")
        }),
      30_000
    )
  }

  it.live("with a dead collector the process exits 0 by itself", () =>
    Effect.gen(function*() {
      const result = yield* run(yield* deadEndpoint, 3000)
      assertCleanExit(result)
      assert.include(result.stdout, "ECONNREFUSED")
    }), 30_000)
})
