/**
 * `npm start` (`mcp-apm demo`), run as the real program for 20 seconds (its
 * default is 90) on a free port, with a fixed seed: it serves, simulates the five
 * services with a fault (git for real, in a temporary repository), finds the
 * fault and stops by itself.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const bin = join(import.meta.dirname, "../src/bin/mcp-apm.ts")

describe("mcp-apm demo", () => {
  it("runs the five services with a fault, reports what it found and exits 0", async () => {
    const env = {
      ...process.env,
      APM_BASELINE_FILE: join(mkdtempSync(join(tmpdir(), "apm-demo-")), "baselines.json")
    }
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [bin, "demo", "--port", "0", "--seed", "1", "--duration", "20"], { env, encoding: "utf8" }, (error, stdout) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout }))
    })
    assert.strictEqual(code, 0)
    for (const operation of ["text_completion ", "plan_management.storage.save", "git merge", "workflow_orchestrator", "verification_feedback"]) {
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
  }, 90_000)
})
