/**
 * What the baseline store costs: `observe` on a known operation (the hot
 * path, once per traced operation), `observe` of a new name when the store is
 * full (the least recently seen operation is found and evicted), and the
 * start-up (leftovers, load, first save) and shutdown (save) of a full
 * persistent store at the default configuration: 1,007 operations of 100
 * samples.
 */
import { NodeServices } from "@effect/platform-node"
import { ApmConfig, BaselineStore, OperationType } from "@mcp-apm/core"
import type { PerformanceMetrics } from "@mcp-apm/core"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { median } from "simple-statistics"

const operations = 200_000
const repetitions = 7

const record = (operationName: string, duration: number, endTime: number): PerformanceMetrics.PerformanceMetrics => ({
  operationName,
  operationType: "http_request",
  startTime: endTime - duration * 1000,
  endTime,
  duration,
  status: "ok",
  success: true,
  slow: false,
  attributes: {}
})

/** Median ns per call of `run(i)` over `repetitions` rounds of `operations` calls, after one warm-up round. */
const nsPerCall = (run: (i: number) => void) => {
  const round = () => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < operations; i++) run(i)
    return Number(process.hrtime.bigint() - start) / operations
  }
  round()
  return median(Array.from({ length: repetitions }, round))
}

const millisOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = process.hrtime.bigint()
    const value = yield* effect
    return { value, millis: Number(process.hrtime.bigint() - start) / 1e6 }
  })

export const baselineStore = Effect.gen(function*() {
  const options = yield* ApmConfig.make()
  const capacity = options.maxOperations + OperationType.operationTypes.length
  const names = Array.from({ length: capacity }, (_, i) => `GET /route/${i}`)

  const known = BaselineStore.make(options)
  for (const name of names) known.observe(record(name, 0.01, 0))
  const observeKnown = nsPerCall((i) => known.observe(record(names[i % capacity]!, 0.01, i)))

  const full = BaselineStore.make(options)
  for (const name of names) full.observe(record(name, 0.01, 0))
  const observeEvicting = nsPerCall((i) => full.observe(record(`new-${i}`, 0.01, 1 + i)))

  // The persistent store filled, saved and restored through real files.
  const directory = mkdtempSync(join(tmpdir(), "apm-bench-baselines-"))
  const file = join(directory, "baselines.json")
  const layer = BaselineStore.layerPersistent(file).pipe(
    Layer.provide(ApmConfig.ApmConfig.layer()),
    Layer.provide(NodeServices.layer)
  )
  const fill = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const store = Context.get(yield* Layer.buildWithScope(layer, scope), BaselineStore.BaselineStore)
    for (let i = 0; i < capacity * options.baselineWindowSize; i++) {
      store.observe(record(names[i % capacity]!, 0.001 * (1 + (i % 97)), i))
    }
    return scope
  })
  yield* Effect.flatMap(fill, (scope) => Scope.close(scope, Exit.void))
  const bytes = statSync(file).size
  const startups: Array<number> = []
  const shutdowns: Array<number> = []
  for (let i = 0; i < repetitions; i++) {
    const { millis: startup, value: scope } = yield* millisOf(Effect.gen(function*() {
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(layer, scope)
      return scope
    }))
    const { millis: shutdown } = yield* millisOf(Scope.close(scope, Exit.void))
    startups.push(startup)
    shutdowns.push(shutdown)
  }
  rmSync(directory, { recursive: true, force: true })
  return {
    observeKnown,
    observeEvicting,
    bytes,
    maxBytes: BaselineStore.maxFileBytes(options),
    startup: median(startups),
    shutdown: median(shutdowns)
  }
})

export const printBaselineStore = (r: Effect.Success<typeof baselineStore>) => {
  console.log("baseline-store (default configuration: 1,007 operations of 100 samples)")
  console.log("  observe, known operation          %s ns/op", r.observeKnown.toFixed(0))
  console.log(
    "  observe, new name, store full     %s ns/op (finds and evicts the least recently seen)",
    r.observeEvicting.toFixed(0)
  )
  console.log("  file of a full store              %s bytes (bound %s)", r.bytes, r.maxBytes)
  console.log("  start-up: leftovers, load, save   %s ms (median of %d)", r.startup.toFixed(1), repetitions)
  console.log("  shutdown: save                    %s ms", r.shutdown.toFixed(1))
}

if (import.meta.main) printBaselineStore(await Effect.runPromise(baselineStore))
