/**
 * The demo's closing report: a table per operation (count, success rate,
 * p50/p95/p99 and the baseline's p95), then the anomalies and insights.
 *
 * @since 0.1.0
 */
import { Apm } from "@mcp-apm/core"
import { Console, Effect } from "effect"
import { anomalyLine, insightLine } from "./Narration.ts"

const millis = (seconds: number | undefined) => seconds === undefined ? "-" : `${(seconds * 1000).toFixed(1)} ms`

/**
 * @category constructors
 * @since 0.1.0
 */
export const report = Effect.gen(function*() {
  const summaries = [...yield* Apm.summaries].sort((a, b) => b.p95Duration - a.p95Duration)
  const baselines = new Map((yield* Apm.baselines).map((b) => [b.operationName, b]))
  yield* Console.log(
    `\n${"operation".padEnd(48)} ${"count".padStart(7)} ${"ok%".padStart(6)} ${"p50".padStart(10)} ${
      "p95".padStart(10)
    } ${"p99".padStart(10)} ${"baseline p95".padStart(13)}`
  )
  for (const s of summaries) {
    yield* Console.log(
      `${s.operationName.padEnd(48)} ${String(s.totalOperations).padStart(7)} ${
        (s.successRate * 100).toFixed(1).padStart(6)
      } ${millis(s.p50Duration).padStart(10)} ${millis(s.p95Duration).padStart(10)} ${
        millis(s.p99Duration).padStart(10)
      } ${millis(baselines.get(s.operationName)?.p95).padStart(13)}`
    )
  }
  yield* Console.log("\nanomalies (newest first)")
  for (const a of yield* Apm.recentAnomalies(10)) yield* Console.log(`  ${anomalyLine(a)}`)
  yield* Console.log("\ninsights")
  for (const i of yield* Apm.insights) yield* Console.log(`  ${insightLine(i)}`)
})
