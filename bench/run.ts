/**
 * `npm run bench`: every benchmark, one after the other, in one process.
 */
import { Effect } from "effect"
import { baselineStore, printBaselineStore } from "./baseline-store.ts"
import { runCliBench } from "./cli.ts"
import { dashboardHistory, printDashboardHistory } from "./dashboard-history.ts"
import { runDetectionBench } from "./detection/run.ts"
import { runLatencyBench } from "./detection/latency.ts"
import { exportResilience, printExportResilience } from "./export-resilience.ts"
import { invalidObservations, printInvalidObservations } from "./invalid-observations.ts"
import { monitorIdleCost, printMonitorIdleCost } from "./monitor-idle-cost.ts"
import { logSignals, printLogSignals } from "./log-signals.ts"
import { printRedactionCost, redactionCost } from "./redaction.ts"
import { printSqlOverhead, sqlOverhead } from "./sql-overhead.ts"
import { printScrapeLoad, scrapeLoad } from "./scrape-load.ts"
import { printResourceOverhead, resourceOverhead } from "./resource-overhead.ts"
import { otelOverhead, printOtelOverhead } from "./otel-overhead.ts"
import { printTraceOverhead, traceOverhead } from "./trace-overhead.ts"
import { runTraceMemoryBench } from "./trace-memory.ts"
import { printWorkflowStates, workflowStates } from "./workflow-states.ts"

printTraceOverhead(await Effect.runPromise(traceOverhead))
printOtelOverhead(await Effect.runPromise(otelOverhead))
runTraceMemoryBench()
printResourceOverhead(await Effect.runPromise(resourceOverhead))
printMonitorIdleCost(monitorIdleCost())
printInvalidObservations(await Effect.runPromise(invalidObservations))
printWorkflowStates(await Effect.runPromise(workflowStates))
printBaselineStore(await Effect.runPromise(baselineStore))
printExportResilience(await Effect.runPromise(exportResilience))
await runCliBench()
printScrapeLoad(await Effect.runPromise(scrapeLoad))
printLogSignals(await Effect.runPromise(logSignals))
printRedactionCost(redactionCost())
printDashboardHistory(await Effect.runPromise(dashboardHistory))
printSqlOverhead(await Effect.runPromise(sqlOverhead))
await runDetectionBench()
runLatencyBench()
