import { assert, describe, it } from "@effect/vitest"
import { ApmMetrics } from "@mcp-apm/core"
import {
  GitWorktreeApm,
  ModelRouterApm,
  PlanManagementApm,
  VerificationFeedbackApm,
  WorkflowOrchestratorApm
} from "@mcp-apm/services"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { render } from "../src/monitoring/files.ts"
import { recorded } from "../src/monitoring/PrometheusRules.ts"

const root = join(import.meta.dirname, "../../../monitoring")
const promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find(existsSync)

describe("monitoring/", () => {
  it("is what the generator writes (run `npm run monitoring` after changing a metric)", () => {
    for (const [name, content] of Object.entries(render())) {
      assert.strictEqual(readFileSync(join(root, name), "utf8"), content, name)
    }
  })

  it("the dashboard queries only metrics that exist", () => {
    const dashboard = JSON.parse(readFileSync(join(root, "grafana-dashboard.json"), "utf8")) as {
      panels: Array<{ targets: Array<{ expr: string }> }>
    }
    const services = [ModelRouterApm, PlanManagementApm, GitWorktreeApm, WorkflowOrchestratorApm, VerificationFeedbackApm]
    const known = new Set<string>([
      ...Object.values(ApmMetrics.definitions).map((d) => d.name),
      ...Object.values(recorded),
      ...services.flatMap((s) => Object.values(s.definitions).map((d) => d.name.replace(/\./g, "_")))
    ])
    const metricName = /\b((?:apm|model_router|plan_management|git_worktree|workflow_orchestrator|verification_feedback|gen_ai)[a-z_:0-9]*)/g
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const names = expr.match(metricName) ?? []
        assert.isAbove(names.length, 0, expr)
        for (const name of names) assert.isTrue(known.has(name.replace(/_bucket$/, "")), `${name} in ${expr}`)
      }
    }
    // every service's own metrics are charted: at least one panel per service
    for (const s of services) {
      const names = Object.values(s.definitions).map((d) => d.name.replace(/\./g, "_"))
      assert.isTrue(dashboard.panels.some((p) => p.targets.some((t) => names.some((n) => t.expr.includes(n)))))
    }
  })

  // CI installs Debian's prometheus package; a developer without it skips this one.
  it.skipIf(promtool === undefined && process.env["CI"] === undefined)("promtool accepts the rules and their unit tests pass", () => {
    assert.isDefined(promtool, "promtool (Debian package prometheus) is needed in CI")
    const check = execFileSync(promtool!, ["check", "rules", join(root, "prometheus-rules.yml")], { encoding: "utf8" })
    assert.include(check, "SUCCESS: 12 rules found")
    const test = execFileSync(promtool!, ["test", "rules", join(root, "prometheus-rules.test.yml")], {
      encoding: "utf8"
    })
    assert.include(test, "SUCCESS")
  })

  it.skipIf(promtool === undefined && process.env["CI"] === undefined)("promtool parses every dashboard query", () => {
    assert.isDefined(promtool, "promtool (Debian package prometheus) is needed in CI")
    const dashboard = JSON.parse(readFileSync(join(root, "grafana-dashboard.json"), "utf8")) as {
      panels: Array<{ targets: Array<{ expr: string }> }>
    }
    // Each query as a recording rule, with Grafana's variables given values, is what promtool can check offline.
    const rules = dashboard.panels.flatMap((p) => p.targets).map((t, i) => ({
      record: `dashboard:query_${i}`,
      expr: t.expr.replaceAll("$__rate_interval", "5m").replaceAll("$operation", ".*")
    }))
    const file = join(mkdtempSync(join(tmpdir(), "apm-dashboard-")), "queries.yml")
    writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }))
    const check = execFileSync(promtool!, ["check", "rules", file], { encoding: "utf8" })
    assert.include(check, `SUCCESS: ${rules.length} rules found`)
  })
})
