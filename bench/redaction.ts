/**
 * The cost of `Redaction` on the paths it sits on: attributes as `Apm.trace`
 * and `recordMeasured` see them (clean, the usual case, and with a secret),
 * an error message, a URL and a stack trace as the span export sees them.
 * Median ns/call of 7 runs of 50 000 calls, after a warm-up run.
 */
import { Redaction } from "@mcp-apm/core"
import { median } from "simple-statistics"

const calls = 50_000
const repetitions = 7

const stackTrace = "HttpClientError: Transport error (GET https://admin:hunter2@db.example.com/v1/users?token=abc)\n" +
  Array.from({ length: 20 }, (_, i) => `    at step${i} (file:///srv/app/node_modules/lib/module${i}.js:${i + 10}:17)`)
    .join("\n")

const cases: ReadonlyArray<readonly [string, () => unknown]> = [
  [
    "attributes, clean (3)",
    () => Redaction.redactAttributes({ "user.id": "123", "http.route": "/login", region: "eu" })
  ],
  ["attributes, one secret (3)", () => Redaction.redactAttributes({ "user.id": "123", password: "pw", region: "eu" })],
  ["message, clean", () => Redaction.redactText("connection refused while reading the orders table")],
  ["URL with a token", () => Redaction.redactText("https://api.example.com/v1/orders?token=abc123&page=2")],
  [`stack trace (${stackTrace.length} chars)`, () => Redaction.redactText(stackTrace)]
]

const timeOne = (f: () => unknown): number => {
  let sink = 0
  const start = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) if (f() !== undefined) sink++
  const elapsed = Number(process.hrtime.bigint() - start) / calls
  return sink === calls ? elapsed : Number.NaN
}

export const redactionCost = (): ReadonlyArray<readonly [string, number]> =>
  cases.map(([label, f]) => {
    timeOne(f)
    const samples = Array.from({ length: repetitions }, () => timeOne(f))
    return [label, median(samples)] as const
  })

export const printRedactionCost = (results: ReadonlyArray<readonly [string, number]>) => {
  console.log("redaction (median ns/call of %d runs of %d calls)", repetitions, calls)
  for (const [label, ns] of results) console.log("  %s %s ns", label.padEnd(32), ns.toFixed(0))
}

if (import.meta.main) printRedactionCost(redactionCost())
