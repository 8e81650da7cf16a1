/**
 * `npm start` (`mcp-apm demo`), run as the real program for 20 seconds (its
 * default is 90) on a free port, with a fixed seed: it serves, simulates the five
 * services with a fault (git for real, in a temporary repository), finds the
 * fault and stops by itself. Its plans go to an embedded PostgreSQL, which
 * is installed in CI (there, a missing one fails the test): the queries are
 * operations of their own, the plan store's loop of INSERTs is named an N+1
 * pattern, and the server is stopped and its directory removed at the end.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { chmodSync, mkdtempSync, readdirSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as EmbeddedPostgres from "../src/EmbeddedPostgres.ts"

const bin = join(import.meta.dirname, "../src/bin/mcp-apm.ts")

describe("mcp-apm demo", () => {
  it("runs the five services with a fault, reports what it found and exits 0", async () => {
    // the demo's temporary directories go here, to be counted at the end; PostgreSQL runs as nobody under root
    const temporary = mkdtempSync(join(tmpdir(), "apm-demo-tmp-"))
    chmodSync(temporary, 0o755)
    const env = {
      ...process.env,
      TMPDIR: temporary,
      APM_BASELINE_FILE: join(mkdtempSync(join(tmpdir(), "apm-demo-")), "baselines.json")
    }
    const { code, stderr, stdout } = await new Promise<{ code: number; stderr: string; stdout: string }>((resolve) => {
      execFile(process.execPath, [bin, "demo", "--port", "0", "--seed", "1", "--duration", "20"], {
        env,
        encoding: "utf8"
      }, (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stderr, stdout }))
    })
    assert.strictEqual(code, 0, stderr.slice(-2000))
    for (
      const operation of [
        "text_completion ",
        "plan_management.storage.save",
        "git merge",
        "workflow_orchestrator",
        "verification_feedback"
      ]
    ) {
      assert.include(stdout, operation)
    }
    // the fault, said as it happens: model requests four times slower, plan storage failing half the time
    const live = stdout.slice(0, stdout.indexOf("\noperation "))
    assert.match(live, /^anomaly \((WARNING|ERROR|CRITICAL)\): text_completion \S+ (has slowed down|had a spike)/m)
    assert.match(live, /^insight \((WARNING|ERROR|CRITICAL)\): plan_management\.storage\.save fails often/m)
    // and at the end: a table per operation against its baseline, then the anomalies
    assert.match(stdout, /^operation +count +ok% +p50 +p95 +p99 +baseline p95$/m)
    assert.match(stdout, /^plan_management\.storage\.save +\d+ +\d+\.\d +[\d.]+ ms +[\d.]+ ms +[\d.]+ ms +[\d.]+ ms$/m)
    // the git worktree service ran real git in a temporary repository (the few cut short by the end are not ok)
    for (const operation of ["git status", "git worktree add", "git merge", "git worktree remove"]) {
      assert.match(stdout, new RegExp(`^${operation} +[1-9]\\d* +(100\\.0|99\\.\\d) `, "m"), operation)
    }
    const anomalies = stdout.slice(stdout.indexOf("anomalies (newest first)"), stdout.indexOf("\ninsights"))
    assert.match(anomalies, /\n {2}anomaly \(\w+\): text_completion /)

    if (process.env["CI"] === "true" || EmbeddedPostgres.isInstalled()) {
      const [, port] = /^plan storage: PostgreSQL \d+ at 127\.0\.0\.1:(\d+) /m.exec(stdout) ?? []
      assert.isDefined(port, "the demo says its plans go to PostgreSQL")
      // every statement of the plan store is an operation, named by statement and table
      for (const operation of ["INSERT plans", "INSERT plan_tasks", "SELECT plans", "SELECT plan_tasks"]) {
        assert.match(stdout, new RegExp(`^${operation} +[1-9]\\d* `, "m"), operation)
      }
      assert.match(
        live,
        /^insight \((WARNING|ERROR)\): plan_management\.storage\.save runs the same query \d+ times in one operation \(N\+1\): INSERT INTO plan_tasks /m
      )
      // stopped and removed on exit
      assert.deepStrictEqual(readdirSync(temporary).filter((name) => name.startsWith("mcp-apm-pg-")), [])
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(Number(port), "127.0.0.1")
        socket.once("connect", () => resolve(socket.destroy() && false))
        socket.once("error", () => resolve(true))
      })
      assert.isTrue(refused, "nothing listens on PostgreSQL's port after the demo")
    } else {
      assert.match(stdout, /^plan storage: in process \(no PostgreSQL: PostgreSQL is not installed/m)
    }
  }, 90_000)
})
