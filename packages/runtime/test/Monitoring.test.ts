import { assert, describe, it } from "@effect/vitest"
import { ApmMetrics } from "@mcp-apm/core"
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
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
    const known = new Set<string>([
      ...Object.values(ApmMetrics.definitions).map((d) => d.name),
      ...Object.values(recorded)
    ])
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const names = expr.match(/\b(apm[a-z_:0-9]*)/g) ?? []
        assert.isAbove(names.length, 0, expr)
        for (const name of names) assert.isTrue(known.has(name), `${name} in ${expr}`)
      }
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
})
