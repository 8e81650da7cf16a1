import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { Apm, ApmMetrics } from "../src/index.ts"
import { ApmTest } from "../src/testing/index.ts"
import { parseExposition, promtoolCheck } from "./support/prometheus.ts"

const hostile = "say \"hi\" \\ back\nslash <script>alert(1)</script>"

describe("Prometheus exposition", () => {
  it.effect("renders the core metrics legally, hostile operation names included", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.void, "user_login", "http_request")
      yield* Effect.exit(Apm.trace(Effect.fail("x"), hostile, "custom_operation"))
      const text = yield* PrometheusMetrics.format()

      const families = parseExposition(text)
      const byName = new Map(families.map((f) => [f.name, f]))
      for (const d of Object.values(ApmMetrics.definitions).slice(0, 5)) {
        const family = byName.get(d.name)
        assert.isDefined(family, d.name)
        assert.strictEqual(family!.help, d.description)
      }
      assert.strictEqual(byName.get("apm_operations_total")!.type, "COUNTER")
      assert.strictEqual(byName.get("apm_operation_duration_seconds")!.type, "HISTOGRAM")
      assert.strictEqual(byName.get("apm_active_operations")!.type, "GAUGE")
      const errors = byName.get("apm_errors_total")!.metrics
      const hostileErrors = errors.find((m) => m.labels?.["operation_name"] === hostile)
      assert.isDefined(hostileErrors, "the hostile name round-trips through escaping")
      assert.strictEqual(Number(hostileErrors!.value), 1)
      const buckets = Object.keys(byName.get("apm_operation_duration_seconds")!.metrics[0]!.buckets!)
      assert.deepStrictEqual(buckets.map((b) => b === "+Inf" ? Infinity : Number(b)).sort((a, b) => a - b), [
        ...ApmMetrics.durationBuckets,
        Infinity
      ])

      // No raw newline inside a label value: every line is a comment or a sample.
      for (const line of text.trimEnd().split("\n")) assert.match(line, /^(# (HELP|TYPE) \S+ .*|[a-z_]+(\{.*\})? \S+)$/)

      const promtool = promtoolCheck(text)
      if (promtool !== undefined) assert.strictEqual(promtool.trim(), "")
    }).pipe(Effect.provide(ApmTest.layer())))
})
