/**
 * Start-up errors of the real program for the standard `OTEL_*` variables
 * and `APM_LOG_FORMAT`: one line on stderr naming the variable and what was
 * expected, exit code 1; an OTLP header's value, a secret, never shown.
 */
import { assert, describe, it } from "@effect/vitest"
import { run, stackFrame } from "./support/cliProcess.ts"

describe.concurrent("OtlpStartup", { timeout: 30_000 }, () => {
  const badValues: ReadonlyArray<readonly [Record<string, string>, string]> = [
    [{ OTEL_TRACES_EXPORTER: "zipkin" }, `Invalid OTEL_TRACES_EXPORTER="zipkin": expected "otlp" | "none"`],
    [{ APM_LOG_FORMAT: "xml" }, `Invalid APM_LOG_FORMAT="xml": expected "pretty" | "json" | "logfmt"`],
    [
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318",
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%ZZs3cret"
      },
      "Invalid OTEL_EXPORTER_OTLP_HEADERS=<redacted>: expected object"
    ]
  ]
  for (const [env, message] of badValues) {
    it(`${Object.keys(env).at(-1)}: one line naming the variable`, async () => {
      const r = await run(["demo", "--duration", "1"], env)
      assert.strictEqual(r.code, 1)
      assert.deepStrictEqual(r.stderr.trimEnd().split("\n"), [message])
      assert.notMatch(r.stderr, stackFrame)
      assert.notInclude(r.stderr, "s3cret")
      assert.strictEqual(r.stdout, "")
    })
  }
})
