/**
 * `mcp-apm demo` (`npm start`): the five MCP services simulated under load
 * with a scheduled fault, monitored by `ApmLive`: `/metrics` and the
 * dashboard are served while it runs, and what the APM found is printed as it
 * goes and at the end. It stops by itself after `--duration` seconds.
 */
import { Apm } from "@mcp-apm/core"
import { Console, Duration, Effect, Schedule } from "effect"
import { Command, Flag } from "effect/cli"
import * as McpWorkload from "../demo/McpWorkload.ts"
import { McpServicesLive } from "../McpServicesLive.ts"
import { RuntimeConfig } from "../RuntimeConfig.ts"

const millis = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`

const report = Effect.gen(function*() {
  const summaries = [...yield* Apm.summaries].sort((a, b) => b.p95Duration - a.p95Duration)
  yield* Console.log("\noperation                               count   ok%     p50        p95")
  for (const s of summaries) {
    yield* Console.log(
      `${s.operationName.padEnd(38)} ${String(s.totalOperations).padStart(6)} ${
        (s.successRate * 100).toFixed(1).padStart(5)
      } ${millis(s.p50Duration).padStart(10)} ${millis(s.p95Duration).padStart(10)}`
    )
  }
  yield* Console.log("\nanomalies (newest first)")
  for (const a of yield* Apm.recentAnomalies(10)) {
    yield* Console.log(
      `  ${a.severity.padEnd(8)} ${a.kind.padEnd(5)} ${a.operationName}: ${millis(a.duration)} against ${
        millis(a.baselineMean)
      } (z ${a.zScore.toFixed(1)}, ${a.count} samples)`
    )
  }
  yield* Console.log("\ninsights")
  for (const i of yield* Apm.insights) yield* Console.log(`  ${i.severity.padEnd(8)} ${i.message}\n           ${i.recommendation}`)
})

const progress = Effect.gen(function*() {
  const anomalies = yield* Apm.recentAnomalies(1)
  const operations = (yield* Apm.summaries).reduce((n, s) => n + s.totalOperations, 0)
  const latest = anomalies[0]
  yield* Console.log(
    `${operations} operations traced` +
      (latest === undefined ? "" : `; latest anomaly: ${latest.severity} ${latest.operationName}`)
  )
})

const duration = Flag.Int("duration").pipe(
  Flag.withDescription("how long to run, in seconds; the fault starts at 40% of it and lasts 30%"),
  Flag.withDefault(20)
)

/**
 * @category commands
 * @since 0.1.0
 */
export const demoCommand = Command.make("demo", { duration }, ({ duration }) =>
  Effect.gen(function*() {
    const { host, port } = yield* RuntimeConfig
    const total = Duration.seconds(Math.max(1, duration))
    const fault = { start: Duration.times(total, 0.4), length: Duration.times(total, 0.3) }
    yield* Console.log(
      `mcp-apm demo: five MCP services for ${duration} s; a fault (slow model requests, plan storage errors) ` +
        `from ${Duration.format(fault.start)} for ${Duration.format(fault.length)}.\n` +
        `metrics: http://${host}:${port}/metrics   dashboard: http://${host}:${port}/`
    )
    yield* McpWorkload.run(fault).pipe(
      Effect.raceFirst(Effect.repeat(progress, Schedule.spaced("5 seconds")).pipe(Effect.andThen(Effect.never))),
      Effect.timeout(total),
      Effect.ignore
    )
    yield* report
  }).pipe(Effect.provide(McpServicesLive), Effect.provide(RuntimeConfig.layerFromEnvironment))).pipe(
    Command.withDescription("simulate the five MCP services under load, with a fault, and show what the APM finds")
  )
