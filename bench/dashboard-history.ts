/**
 * What the dashboard's history costs at its default caps (200 operations,
 * 300 intervals): its listener on the hot path (once per traced operation),
 * the tick that closes an interval of every operation, the memory it keeps
 * when full, and one `GET /api/apm/history` of everything (render and size).
 */
import { ApmConfig, BaselineStore } from "@mcp-apm/core"
import type { PerformanceMetrics } from "@mcp-apm/core"
import { TestResourceMonitor } from "@mcp-apm/core/testing"
import * as History from "@mcp-apm/runtime/dashboard/History"
import { Context, Duration, Effect } from "effect"
import { median } from "simple-statistics"

const calls = 200_000
const repetitions = 7

const record = (operationName: string, duration: number): PerformanceMetrics.PerformanceMetrics => ({
  operationName,
  operationType: "http_request",
  startTime: 0,
  endTime: duration * 1000,
  duration,
  status: "ok",
  success: true,
  slow: false,
  attributes: {}
})

const timed = (run: () => void, rounds: number) => {
  const round = () => {
    const start = process.hrtime.bigint()
    run()
    return Number(process.hrtime.bigint() - start)
  }
  round()
  return median(Array.from({ length: rounds }, round))
}

export const dashboardHistory = Effect.gen(function*() {
  const options = yield* ApmConfig.make()
  const caps: History.HistoryOptions = { interval: Duration.seconds(2), size: 300, maxOperations: 200 }
  const { monitor } = TestResourceMonitor.make()
  const history = History.make(caps, {
    sensitivity: options.anomalyDetectionSensitivity,
    baselines: BaselineStore.make(options),
    monitor
  })
  const names = Array.from({ length: caps.maxOperations }, (_, i) => `GET /route/${i}`)
  const records = names.map((name, i) => record(name, 0.001 * (1 + (i % 50))))
  const context = Context.empty()
  const observe = timed(() => {
    for (let i = 0; i < calls; i++) history.observe(records[i % records.length]!, context, undefined)
  }, repetitions) / calls
  // fill every ring, each interval with 1,000 operations per name
  for (let t = 0; t < caps.size; t++) {
    for (let i = 0; i < 1000; i++) history.observe(records[i % records.length]!, context, undefined)
    yield* history.tick
  }
  const tickNanos = timed(() => Effect.runSync(history.tick), repetitions)
  const retained = yield* history.retainedBytes
  let body = ""
  const queryNanos = timed(() => {
    body = JSON.stringify(Effect.runSync(history.query({})))
  }, repetitions)
  return { observe, tickMillis: tickNanos / 1e6, retained, queryMillis: queryNanos / 1e6, bytes: body.length }
})

export const printDashboardHistory = (r: Effect.Success<typeof dashboardHistory>) => {
  console.log("dashboard-history (defaults: 200 operations x 300 intervals)")
  console.log("  listener, per traced operation    %s ns/op", r.observe.toFixed(0))
  console.log("  tick (closes 200 intervals)       %s ms", r.tickMillis.toFixed(2))
  console.log("  memory kept when full             %s KiB", (r.retained / 1024).toFixed(0))
  console.log(
    "  GET /api/apm/history, everything  %s ms, %s KiB of JSON",
    r.queryMillis.toFixed(1),
    (r.bytes / 1024).toFixed(0)
  )
}

if (import.meta.main) printDashboardHistory(await Effect.runPromise(dashboardHistory))
