/**
 * The event-loop probes: a delay histogram, read and reset once per reading,
 * and the loop's cumulative idle and active time, from which the
 * utilisation of any window follows.
 *
 * The histogram is fed by an unreferenced timer of `resolution` that records
 * how long it really took between ticks, as Node's `monitorEventLoopDelay`
 * does. It does not use that one: on `reset()` it forgets when it last
 * ticked and drops the next delta, the one that spans the reset, which is
 * where a block that ends just before a reading lies.
 */
import { Effect } from "effect"
import { createHistogram, performance } from "node:perf_hooks"

/** Event-loop delay over one window, in seconds. */
export interface EventLoopDelay {
  readonly min: number
  readonly mean: number
  readonly max: number
  readonly p50: number
  readonly p90: number
  readonly p99: number
}

/** Milliseconds the event loop spent idle and active since the process started. */
export interface EventLoopTime {
  readonly idle: number
  readonly active: number
}

/**
 * @category models
 */
export interface EventLoopProbe {
  /** The delay since the previous call, `undefined` when the timer saw no tick; starts a new window. */
  readonly takeDelay: () => EventLoopDelay | undefined
  readonly time: () => EventLoopTime
}

/** `resolution` is the timer's interval, in milliseconds; releasing the scope stops it. */
export const make = (resolution: number) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const histogram = createHistogram()
        let previous: bigint | undefined
        const timer = setInterval(() => {
          const now = process.hrtime.bigint()
          if (previous !== undefined && now > previous) histogram.record(now - previous)
          previous = now
        }, resolution)
        timer.unref()
        return { histogram, timer }
      }),
      ({ timer }) => Effect.sync(() => clearInterval(timer))
    ),
    ({ histogram }): EventLoopProbe => {
      // A tick measures the timer's whole interval: the delay is what exceeds it.
      const seconds = (nanos: number) => Math.max(0, nanos - resolution * 1e6) / 1e9
      return {
        takeDelay: () => {
          const delay = histogram.count === 0 ? undefined : {
            min: seconds(histogram.min),
            mean: seconds(histogram.mean),
            max: seconds(histogram.max),
            p50: seconds(histogram.percentile(50)),
            p90: seconds(histogram.percentile(90)),
            p99: seconds(histogram.percentile(99))
          }
          histogram.reset()
          return delay
        },
        time: () => {
          const { active, idle } = performance.eventLoopUtilization()
          return { active, idle }
        }
      }
    }
  )
