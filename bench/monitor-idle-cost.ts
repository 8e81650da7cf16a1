/**
 * What the Node resource monitor costs a process that does nothing else:
 * CPU microseconds per second of an idle child process, with no monitor,
 * with `NodeResourceMonitor.layer()` (1 s readings), and the two ways to
 * measure event-loop delay at 10 ms resolution that
 * `internal/resources/eventLoop.ts` chose between: Node's
 * `monitorEventLoopDelay` (a native timer) and a JavaScript `setInterval`
 * feeding a histogram. Each variant runs in a process of its own, one after
 * the other; `node bench/monitor-idle-cost.ts` runs it alone.
 */
import * as NodeResourceMonitor from "@mcp-apm/runtime/NodeResourceMonitor"
import { Effect, Fiber, Layer, Metric } from "effect"
import { execFileSync } from "node:child_process"
import { createHistogram, monitorEventLoopDelay } from "node:perf_hooks"

const variants = ["idle", "monitor", "native delay histogram", "javascript delay timer"] as const
type Variant = (typeof variants)[number]
const seconds = 5

/** Starts the variant in this process; the returned function stops it. */
const start = (variant: Variant): () => void => {
  switch (variant) {
    case "idle":
      return () => {}
    case "monitor": {
      const layer = NodeResourceMonitor.layer().pipe(Layer.provide(Layer.succeed(Metric.MetricRegistry, new Map())))
      const fiber = Effect.runFork(Layer.launch(layer))
      return () => void Effect.runFork(Fiber.interrupt(fiber))
    }
    case "native delay histogram": {
      const histogram = monitorEventLoopDelay({ resolution: 10 })
      histogram.enable()
      return () => histogram.disable()
    }
    case "javascript delay timer": {
      const histogram = createHistogram()
      let previous: bigint | undefined
      const timer = setInterval(() => {
        const now = process.hrtime.bigint()
        if (previous !== undefined && now > previous) histogram.record(now - previous)
        previous = now
      }, 10)
      return () => clearInterval(timer)
    }
  }
}

/** In the child: the CPU it used per second of idling with `variant` running. */
const child = (variant: Variant) => {
  const stop = start(variant)
  const before = process.cpuUsage()
  setTimeout(() => {
    const used = process.cpuUsage(before)
    stop()
    process.stdout.write(String((used.user + used.system) / seconds))
    process.exit(0)
  }, seconds * 1000)
}

/** CPU microseconds per second of each variant. */
export const monitorIdleCost = (): Record<Variant, number> =>
  Object.fromEntries(variants.map((variant) => [
    variant,
    Number(execFileSync(process.execPath, [import.meta.filename, variant], { encoding: "utf8" }))
  ])) as Record<Variant, number>

export const printMonitorIdleCost = (cost: Record<Variant, number>) => {
  console.log(`\nresource monitor, idle process: CPU microseconds per second (${seconds} s each)`)
  for (const variant of variants) console.log(`  ${variant.padEnd(24)} ${cost[variant].toFixed(0)}`)
}

const [, , variant] = process.argv
if (variant !== undefined && (variants as ReadonlyArray<string>).includes(variant)) child(variant as Variant)
else if (import.meta.main) printMonitorIdleCost(monitorIdleCost())
