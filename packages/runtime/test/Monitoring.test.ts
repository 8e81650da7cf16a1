/**
 * `monitoring/` as shipped: the files are what the generator writes,
 * promtool accepts the rules and their unit tests pass, every query parses,
 * every alert is one an on-call engineer can act on, and the generator's
 * options are checked. What the rules and dashboards do against a real
 * Prometheus and real demo instances is PrometheusServer.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { AnomalyDetector } from "@mcp-apm/core"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { render, ruleFiles } from "../src/monitoring/files.ts"
import * as RuleOptions from "../src/monitoring/RuleOptions.ts"
import { parse } from "yaml"
import { dashboardExpressions, ruleExpressions, rules } from "./support/monitoringQueries.ts"
import { promtool } from "@mcp-apm/core/test/support/prometheus"

const root = join(import.meta.dirname, "../../../monitoring")
// CI installs Debian's prometheus package; there a missing promtool fails the tests, elsewhere it skips them.
const needsPromtool = it.skipIf(promtool === undefined && process.env["CI"] !== "true")
const run = (args: ReadonlyArray<string>) => {
  assert.isDefined(promtool, "promtool (Debian package prometheus) is needed in CI")
  return execFileSync(promtool!, args, { encoding: "utf8", cwd: root })
}

/** The configurations of monitoring/README.md, by the file name after the fence's language. */
const readmeExamples = (): Record<string, string> =>
  Object.fromEntries(
    [...readFileSync(join(root, "README.md"), "utf8").matchAll(/```yaml (\S+)\n([\s\S]*?)```/g)].map((
      m
    ) => [m[1]!, m[2]!])
  )

const generatedFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(json|yml|yaml)$/.test(e.name) && !e.name.endsWith(".test.yml"))
    .map((e) => relative(root, join(e.parentPath, e.name)))

describe("monitoring/", () => {
  it("is what the generator writes, and nothing else (run `npm run monitoring` after changing a metric)", () => {
    const files = render()
    for (const [path, content] of Object.entries(files)) {
      assert.strictEqual(readFileSync(join(root, path), "utf8"), content, path)
    }
    assert.deepStrictEqual([...generatedFiles(root)].sort(), Object.keys(files).sort())
  })

  it("ships the seed's dashboards, each with job, instance and, where per operation, operation variables and links", () => {
    const files = Object.keys(render()).filter((p) => p.startsWith("grafana/dashboards/"))
    for (const file of ["performance-dashboard.json", "resource-usage-dashboard.json", "model-router-dashboard.json"]) {
      assert.include(files, `grafana/dashboards/${file}`)
    }
    assert.strictEqual(files.length, 7)
    for (const file of files) {
      const d = JSON.parse(readFileSync(join(root, file), "utf8"))
      const names = d.templating.list.map((v: { name: string }) => v.name)
      assert.includeMembers(names, ["datasource", "job", "instance"], file)
      if (!file.includes("resource-usage")) assert.include(names, "operation", file)
      assert.isTrue(
        d.links.some((l: { type: string; tags: Array<string> }) =>
          l.type === "dashboards" && l.tags.includes("mcp-apm")
        ),
        file
      )
      assert.include(d.tags, "mcp-apm")
    }
  })

  it("has the five alert kinds and both SLOs, each with for:, a severity and a summary and description", () => {
    const alerts = rules().filter((r) => r.alert !== undefined)
    assert.includeMembers(
      [...new Set(alerts.map((a) => a.alert))],
      [
        "ApmSlowOperation",
        "ApmHighErrorRate",
        "ApmHighCpuUsage",
        "ApmHighMemoryUsage",
        "ApmAnomalyRaised",
        "ApmBaselineDeviation",
        "ApmAvailabilityBudgetBurn",
        "ApmLatencyBudgetBurn"
      ]
    )
    for (const a of alerts) {
      assert.isString(a.for, a.alert)
      assert.include(["critical", "warning"], a.labels?.["severity"], a.alert)
      assert.isString(a.annotations?.["summary"], a.alert)
      assert.isString(a.annotations?.["description"], a.alert)
    }
    // histogram_quantile over the buckets: a histogram has no quantile label
    const slow = alerts.find((a) => a.alert === "ApmSlowOperation")!
    assert.notInclude(JSON.stringify(rules()), "quantile=")
    assert.include(rules().find((r) => slow.expr.includes(r.record ?? "\0"))!.expr, "histogram_quantile(0.95")
  })

  it("takes the SLO objectives and every window from RuleOptions", () => {
    const strict = rules(RuleOptions.make({ availabilityObjective: 0.9999, timeScale: 1 / 60 }))
    const page = strict.find((r) => r.alert === "ApmAvailabilityBudgetBurn" && r.labels?.["long_window"] === "1m")!
    assert.include(page.expr, "(14.4 * 0.0001)")
    assert.strictEqual(page.for, "2s")
    assert.strictEqual(strict.find((r) => r.alert === "ApmAnomalyRaised")!.for, "1s")
  })

  it("refuses bad generator options with an error naming the option", () => {
    assert.throws(
      () => RuleOptions.make({ availabilityObjective: 1 }),
      /RuleOptions.availabilityObjective is 1; expected a number between 0 and 1/
    )
    assert.throws(() => RuleOptions.make({ latencyObjective: 0 }), /RuleOptions.latencyObjective is 0/)
    assert.throws(() => RuleOptions.make({ timeScale: -1 }), /RuleOptions.timeScale is -1; expected a positive number/)
    assert.throws(() => RuleOptions.make({ minimumRate: Number.NaN }), /RuleOptions.minimumRate is NaN/)
  })

  needsPromtool(
    "promtool accepts the rule files, the shipped and a test's, and the unit tests of every rule pass",
    () => {
      const check = run(["check", "rules", "prometheus/recording.yml", "prometheus/alerts.yml"])
      assert.include(check, `SUCCESS: ${rules().filter((r) => r.file === "recording.yml").length} rules found`)
      assert.include(check, `SUCCESS: ${rules().filter((r) => r.file === "alerts.yml").length} rules found`)
      const dir = mkdtempSync(join(tmpdir(), "apm-rules-"))
      const scaled = ruleFiles(RuleOptions.make({ timeScale: 1 / 60 }))
      for (const [name, content] of Object.entries(scaled)) writeFileSync(join(dir, name), content)
      run(["check", "rules", ...Object.keys(scaled).map((n) => join(dir, n))])
      const tests = readdirSync(join(root, "prometheus/tests")).map((f) => `prometheus/tests/${f}`)
      assert.deepStrictEqual(tests.sort(), [
        "prometheus/tests/alerts.test.yml",
        "prometheus/tests/recording.test.yml",
        "prometheus/tests/slo-windows.test.yml",
        "prometheus/tests/slo.test.yml"
      ])
      const output = run(["test", "rules", ...tests])
      assert.strictEqual(output.match(/SUCCESS/g)?.length, tests.length, output)
    },
    30_000
  )

  needsPromtool("every recording rule has a unit test", () => {
    const tested = ["recording", "slo-windows"].map((f) =>
      readFileSync(join(root, `prometheus/tests/${f}.test.yml`), "utf8")
    ).join("")
    for (const r of rules().filter((r) => r.record !== undefined)) {
      assert.include(tested, `- expr: ${r.record}\n`, r.record)
    }
    const alertTests = ["alerts", "slo"].map((f) => readFileSync(join(root, `prometheus/tests/${f}.test.yml`), "utf8"))
      .join("")
    for (const r of rules().filter((r) => r.alert !== undefined)) {
      assert.include(alertTests, `alertname: ${r.alert}\n`, r.alert)
    }
  })

  needsPromtool("promtool parses every dashboard and annotation query", () => {
    // Each query as a recording rule, with Grafana's variables given values, is what promtool can check offline.
    const expressions = dashboardExpressions()
    const file = join(mkdtempSync(join(tmpdir(), "apm-dashboard-")), "queries.yml")
    writeFileSync(
      file,
      JSON.stringify({
        groups: [{
          name: "dashboard",
          rules: expressions.map((e, i) => ({ record: `dashboard:query_${i}`, expr: e.expr }))
        }]
      })
    )
    assert.include(run(["check", "rules", file]), `SUCCESS: ${expressions.length} rules found`)
    assert.isAbove(ruleExpressions().length, 0)
  })

  needsPromtool("promtool accepts the README's Prometheus configuration, with the rule files beside it", () => {
    const dir = mkdtempSync(join(tmpdir(), "apm-prometheus-config-"))
    writeFileSync(join(dir, "prometheus.yml"), readmeExamples()["prometheus.yml"]!)
    writeFileSync(join(dir, "mcp-apm-token"), "a-token\n")
    for (const name of ["recording.yml", "alerts.yml"]) writeFileSync(join(dir, name), render()[`prometheus/${name}`]!)
    const output = run(["check", "config", join(dir, "prometheus.yml")])
    assert.include(output, "is valid prometheus config file syntax")
    for (const file of ["recording.yml", "alerts.yml"]) {
      assert.include(output, `SUCCESS: ${rules().filter((r) => r.file === file).length} rules found`)
    }
  })

  it("the README's Grafana provisioning and collector configuration hang together", () => {
    const examples = readmeExamples()
    assert.deepStrictEqual(Object.keys(examples).sort(), [
      "grafana/provisioning/dashboards/mcp-apm.yml",
      "grafana/provisioning/datasources/prometheus.yml",
      "otel-collector.yml",
      "prometheus.yml"
    ])
    const datasource = parse(examples["grafana/provisioning/datasources/prometheus.yml"]!).datasources[0]
    assert.strictEqual(datasource.type, "prometheus")
    const provider = parse(examples["grafana/provisioning/dashboards/mcp-apm.yml"]!).providers[0]
    assert.strictEqual(provider.type, "file")
    assert.isString(provider.options.path)
    const collector = parse(examples["otel-collector.yml"]!)
    const pipeline = collector.service.pipelines.traces
    for (const r of pipeline.receivers) assert.property(collector.receivers, r)
    for (const p of pipeline.processors) assert.property(collector.processors, p)
    for (const e of pipeline.exporters) assert.property(collector.exporters, e)
    assert.deepStrictEqual(Object.keys(collector.receivers.otlp.protocols).sort(), ["grpc", "http"])
    const policies = collector.processors.tail_sampling.policies.map((p: { type: string }) => p.type)
    assert.includeMembers(policies, ["status_code", "latency", "string_attribute"])
    // The attribute the anomalous policy keys on is the one the detector sets on a flagged operation's span.
    const anomalous = collector.processors.tail_sampling.policies.find((p: { name: string }) => p.name === "anomalous")
    assert.strictEqual(anomalous.string_attribute.key, AnomalyDetector.spanAttributes.severity)
    assert.includeMembers(anomalous.string_attribute.values, ["WARNING", "ERROR", "CRITICAL"])
  })
})
