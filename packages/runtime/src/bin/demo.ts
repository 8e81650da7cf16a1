#!/usr/bin/env node
/**
 * `npm start`: a small workload traced by mcp-apm, served on /metrics for a
 * bounded time, with the operation summaries printed at the end.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Apm } from "@mcp-apm/core"
import { Console, Effect, Random, Schedule } from "effect"
import { ApmLive } from "../ApmLive.ts"

const durationSeconds = Number(process.argv.find((a) => a.startsWith("--duration="))?.split("=")[1] ?? 10)

const request = (name: string, meanMillis: number, failureRate: number) =>
  Effect.gen(function*() {
    yield* Effect.sleep(Math.round(meanMillis * (0.5 + (yield* Random.next))))
    if ((yield* Random.next) < failureRate) return yield* Effect.fail(new Error(`${name} failed`))
  }).pipe(Apm.trace(name, "http_request"), Effect.ignore)

const workload = Effect.all([
  request("GET /plans", 20, 0.01),
  request("POST /models/generate", 80, 0.05),
  request("GET /workflows", 10, 0)
], { concurrency: "unbounded" }).pipe(Effect.repeat(Schedule.spaced("50 millis")))

const main = Effect.gen(function*() {
  yield* Console.log(`mcp-apm demo for ${durationSeconds}s: metrics on http://127.0.0.1:${process.env["APM_HTTP_PORT"] ?? 9464}/metrics`)
  yield* workload.pipe(Effect.timeout(`${durationSeconds} seconds`), Effect.ignore)
  for (const s of yield* Apm.summaries) {
    yield* Console.log(
      `${s.operationName.padEnd(24)} n=${s.totalOperations} ok=${(s.successRate * 100).toFixed(1)}% ` +
        `p50=${(s.p50Duration * 1000).toFixed(1)}ms p99=${(s.p99Duration * 1000).toFixed(1)}ms`
    )
  }
})

NodeRuntime.runMain(main.pipe(Effect.provide(ApmLive)))
