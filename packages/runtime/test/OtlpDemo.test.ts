/**
 * The demo, run as the real program with an OTLP endpoint: its failed plan
 * storage writes reach the collector as Warning log records, each inside
 * the exported storage span.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { join } from "node:path"
import { collector } from "./support/SpanExportCollector.ts"
import { temporaryDirectory } from "./support/live.ts"

const bin = join(import.meta.dirname, "../src/bin/mcp-apm.ts")

const demo = (endpoint: string) =>
  Effect.callback<{ code: number; stdout: string }>((resume) => {
    const env = {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      APM_LOG_FORMAT: "json",
      APM_BASELINE_FILE: join(temporaryDirectory("otlp-demo"), "baselines.json")
    }
    // The fault (plan storage failing half the time) from the start, for 30% of the run.
    const args = [bin, "demo", "--port", "0", "--seed", "1", "--duration", "3", "--fault-at", "0"]
    const child = execFile(process.execPath, args, { env, encoding: "utf8" }, (error, stdout) =>
      resume(Effect.succeed({ code: error === null ? 0 : Number(error.code ?? 1), stdout })))
    return Effect.sync(() =>
      child.kill("SIGKILL")
    )
  })

describe("OtlpDemo", () => {
  it.live(
    "the demo's failed storage writes are exported as Warning log records inside their spans",
    () =>
      Effect.gen(function*() {
        const c = yield* collector({ _tag: "ok" })
        const { code, stdout } = yield* demo(c.endpoint)
        assert.strictEqual(code, 0, stdout)
        const warnings = c.logs.filter((l) => l.body === "plan storage write failed")
        assert.isAbove(warnings.length, 0, stdout)
        const storageSpans = c.accepted.filter((s) => s.name === "plan_management.storage.save")
        for (const warning of warnings) {
          assert.strictEqual(warning.severityText, "Warn")
          assert.strictEqual(warning.severityNumber, 13)
          assert.match(warning.attributes["plan.id"] ?? "", /^plan-\d+$/)
          assert.strictEqual(warning.attributes["error.type"], "StorageUnavailable")
          const span = storageSpans.find((s) => s.spanId === warning.spanId)
          assert.isDefined(span, `no exported storage span has the log record's span id ${warning.spanId}`)
          assert.strictEqual(span!.traceId, warning.traceId)
        }
        // The console says the same, one JSON object a line, with the same ids.
        const lines = stdout.split("\n").filter((line) => line.includes("plan storage write failed"))
        assert.strictEqual(lines.length, warnings.length)
        const first = JSON.parse(lines[0]!)
        assert.isTrue(warnings.some((w) => w.traceId === first.trace_id && w.spanId === first.span_id))
        const failedWrites = c.metrics.find((m) =>
          m.name === "plan_management_storage_operations_total" && m.attributes["status"] === "error"
        )
        assert.strictEqual(failedWrites?.value, warnings.length)
      }),
    60_000
  )
})
