/**
 * `npm start` (`mcp-apm demo`), run as the real program for its default 20
 * seconds on a free port, with a fixed seed: it serves, simulates the five
 * services with a fault, finds the fault and stops by itself.
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
      execFile(process.execPath, [bin, "demo", "--port", "0", "--seed", "1"], { env, encoding: "utf8" }, (error, stdout) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout }))
    })
    assert.strictEqual(code, 0)
    for (const operation of ["text_completion ", "plan_management.storage.save", "git merge", "workflow_orchestrator", "verification_feedback"]) {
      assert.include(stdout, operation)
    }
    // the fault: model requests four times slower, plan storage failing half the time
    const anomalies = stdout.slice(stdout.indexOf("anomalies (newest first)"), stdout.indexOf("\ninsights"))
    assert.match(anomalies, /\n\s+\S+\s+(shift|spike) text_completion /)
    assert.match(stdout, /plan_management\.storage\.save fails often/)
  }, 90_000)
})
