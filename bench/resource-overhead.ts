/**
 * The cost per operation of `Apm.trace` with per-operation resource sampling
 * (rss and CPU deltas for a `memorySampleRate` fraction of operations, the
 * Node `ResourceMonitor` sampling in the background) against `Apm.trace`
 * without a monitor: median ns/op, target at most 10% more at the default
 * rates. Also the cost of one sampled operation (rate 1), and how many
 * operations were sampled, which shows that the real path was measured.
 */
import { Apm, ApmConfig } from "@mcp-apm/core"
import * as NodeResourceMonitor from "@mcp-apm/runtime/NodeResourceMonitor"
import { Effect, Layer, Metric } from "effect"
import { median } from "simple-statistics"
import { coreLayer, measure } from "./trace-overhead.ts"

const attributes = { "user.id": "123", "http.route": "/login", region: "eu" }
const traced = Apm.trace(Effect.succeed(1), "op", "custom_operation", attributes)

/** How many operations `apm_memory_usage_bytes` saw, in the registry in context. */
const sampledCount = Effect.map(Metric.snapshot, (snapshots) =>
  snapshots
    .filter((s) => s.id === "apm_memory_usage_bytes")
    .reduce((n, s) => n + ((s.state as { count?: number }).count ?? 0), 0))

const monitored = (overrides: Partial<ApmConfig.ApmOptions> = {}) =>
  Apm.layer.pipe(Layer.provide(NodeResourceMonitor.layer()), Layer.provide(ApmConfig.ApmConfig.layer(overrides)))

const rounds = 7

/** Builds `layer` once, with a metric registry of its own; `run` measures `traced` in it. */
const setup = (layer: Layer.Layer<Apm.Apm, unknown>) =>
  Effect.gen(function*() {
    const registry: Metric.MetricRegistry = new Map()
    const context = yield* Layer.build(layer).pipe(Effect.provideService(Metric.MetricRegistry, registry))
    const inContext = <A, E>(effect: Effect.Effect<A, E, Apm.Apm>) =>
      effect.pipe(Effect.provideContext(context), Effect.provideService(Metric.MetricRegistry, registry))
    return { run: inContext(measure(traced)), sampled: inContext(sampledCount) }
  })

export const resourceOverhead = Effect.scoped(Effect.gen(function*() {
  const without = yield* setup(coreLayer())
  const withSampling = yield* setup(monitored())
  const everyOperation = yield* setup(monitored({ memorySampleRate: 1 }))
  // Alternate the variants so that drift in the machine's load hits both alike.
  const a: Array<number> = []
  const b: Array<number> = []
  const c: Array<number> = []
  for (let round = 0; round < rounds; round++) {
    a.push(yield* without.run)
    b.push(yield* withSampling.run)
    c.push(yield* everyOperation.run)
  }
  return {
    without: median(a),
    withSampling: median(b),
    sampled: yield* withSampling.sampled,
    everyOperation: median(c),
    ratio: median(b.map((x, i) => x / a[i]!))
  }
}))

export const printResourceOverhead = (r: Effect.Success<typeof resourceOverhead>) => {
  console.log("resource-overhead (median ns/op of %d alternating rounds)", rounds)
  console.log("  (a) Apm.trace, no resource monitor            %s ns", r.without.toFixed(0))
  console.log(
    "  (b) Apm.trace, resource sampling at defaults  %s ns (%d operations sampled)",
    r.withSampling.toFixed(0),
    r.sampled
  )
  console.log("  (c) Apm.trace, every operation sampled        %s ns", r.everyOperation.toFixed(0))
  console.log("  b/a = %s, median of the rounds' ratios (target <= 1.10)", r.ratio.toFixed(2))
  if (r.sampled === 0) console.log("  note: nothing was sampled, so (b) did not measure the sampling path")
}

if (import.meta.main) printResourceOverhead(await Effect.runPromise(resourceOverhead))
