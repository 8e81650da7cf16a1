/**
 * What the demo says as it runs: one line, in plain words, per anomaly and
 * per insight the APM raises, when it first raises it (and again when an
 * anomaly grows worse), so a newcomer reading the terminal sees the fault
 * arrive and named without opening the dashboard.
 *
 * @since 0.1.0
 */
import { Apm } from "@mcp-apm/core"
import type { AnomalyDetector, Insights } from "@mcp-apm/core"
import { Console, Effect, Schedule } from "effect"

const millis = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`

/**
 * The line for an anomaly.
 *
 * @category formatting
 * @since 0.1.0
 */
export const anomalyLine = (a: AnomalyDetector.Anomaly): string =>
  `anomaly (${a.severity}): ${a.operationName} ${a.kind === "shift" ? "has slowed down" : "had a spike"}: ${
    millis(a.duration)
  } against a usual ${millis(a.baselineMean)} (z ${a.zScore.toFixed(1)})`

/**
 * The line for an insight.
 *
 * @category formatting
 * @since 0.1.0
 */
export const insightLine = (i: Insights.Insight): string =>
  `insight (${i.severity}): ${i.message}\n    what to do: ${i.recommendation}`

/**
 * Prints the lines of what is new since the last look, every `interval`,
 * until interrupted. Memory is bounded by what the APM itself keeps: the
 * keys of anomalies and insights it no longer reports are forgotten.
 *
 * @category constructors
 * @since 0.1.0
 */
export const narrate = (interval: Schedule.Schedule<unknown> = Schedule.spaced("1 second")) => {
  let anomalies = new Set<string>()
  let insights = new Set<string>()
  const look = Effect.gen(function*() {
    const current = yield* Apm.recentAnomalies(20)
    const anomalyKeys = new Set<string>()
    // oldest first, so the terminal reads in the order things happened
    for (const a of [...current].reverse()) {
      const key = `${a.operationName}\u0000${a.firstSeen}\u0000${a.severity}`
      anomalyKeys.add(key)
      if (!anomalies.has(key)) yield* Console.log(anomalyLine(a))
    }
    anomalies = anomalyKeys
    const insightKeys = new Set<string>()
    for (const i of yield* Apm.insights) {
      const key = `${i.type}\u0000${i.operationName ?? ""}\u0000${i.severity}`
      insightKeys.add(key)
      if (!insights.has(key)) yield* Console.log(insightLine(i))
    }
    insights = insightKeys
  })
  return Effect.repeat(look, interval)
}
