/**
 * CommonJS callers can `require` the runtime's modules (Node 24 loads an ES
 * module with `require` when nothing in its graph uses a top-level `await`):
 * each entry point is required in a child Node process, and a module with a
 * top-level `await` is required beside them, to show the check can fail.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const packageRoot = path.join(import.meta.dirname, "..")

/** `@mcp-apm/runtime` and each top-level module of its `./*` export. */
const entryPoints = [
  "@mcp-apm/runtime",
  ...fs.readdirSync(path.join(packageRoot, "src"))
    .filter((file) => file.endsWith(".ts") && file !== "index.ts")
    .map((file) => `@mcp-apm/runtime/${file.slice(0, -3)}`)
]

// A CommonJS program of a user of the package: each module in turn, its export names or the code
// of the error its require threw.
const script = `
const { createRequire } = require("node:module")
const requireFromPackage = createRequire(process.argv[2])
const results = {}
for (const name of JSON.parse(process.argv[3])) {
  try {
    results[name] = { exports: Object.keys(requireFromPackage(name)) }
  } catch (error) {
    results[name] = { error: error.code ?? String(error) }
  }
}
process.stdout.write(JSON.stringify(results))
`

const requireAll = (program: string, names: ReadonlyArray<string>) =>
  new Promise<Record<string, { exports?: Array<string>; error?: string }>>((resolve, reject) => {
    execFile(
      process.execPath,
      [program, path.join(packageRoot, "package.json"), JSON.stringify(names)],
      { encoding: "utf8" },
      (error, stdout, stderr) => (error === null ? resolve(JSON.parse(stdout)) : reject(new Error(stderr)))
    )
  })

describe("require(@mcp-apm/runtime)", { timeout: 60_000 }, () => {
  it("every entry point loads with require; a module with a top-level await does not", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "apm-require-"))
    const awaiting = path.join(dir, "awaiting.mjs")
    fs.writeFileSync(awaiting, "export const hash = await Promise.resolve(\"sha256-...\")\n")
    const program = path.join(dir, "program.cjs")
    fs.writeFileSync(program, script)
    try {
      const results = await requireAll(program, [...entryPoints, awaiting])
      assert.strictEqual(results[awaiting]?.error, "ERR_REQUIRE_ASYNC_MODULE", "the check can fail")
      for (const name of entryPoints) {
        assert.isUndefined(results[name]?.error, `${name}: ${results[name]?.error}`)
        assert.isNotEmpty(results[name]?.exports, name)
      }
      assert.includeMembers(results["@mcp-apm/runtime/Dashboard"]!.exports!, ["routes", "snapshot", "paths"])
      assert.includeMembers(results["@mcp-apm/runtime"]!.exports!, ["ApmLive", "NodeResourceMonitor", "MetricsServer"])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
