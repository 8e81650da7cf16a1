/**
 * `npm run bench`: every benchmark, one after the other, in one process.
 */
import { Effect } from "effect"
import { printTraceOverhead, traceOverhead } from "./trace-overhead.ts"

printTraceOverhead(await Effect.runPromise(traceOverhead))
