/**
 * The event-loop probes: Node's delay histogram (`monitorEventLoopDelay`),
 * read and reset once per reading, and the loop's cumulative idle and active
 * time, from which the utilisation of any window follows.
 *
 * On `reset()` the histogram forgets when its timer last ticked, so the
 * delta its next tick closes is dropped: a block that begins before that
 * tick, within one `resolution` of a reading, goes unseen. A timer of our
 * own would see it, at twice the CPU of Node's (measured: about 15 ms
 * against 6 ms a second at 10 ms resolution), on every idle process.
 */
import { Effect } from "effect"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"

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
  /** The delay since the previous call, `undefined` when the histogram saw no tick; starts a new window. */
  readonly takeDelay: () => EventLoopDelay | undefined
  readonly time: () => EventLoopTime
}

/** `resolution` is the histogram's timer, in milliseconds; releasing the scope disables it. */
export const make = (resolution: number) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const histogram = monitorEventLoopDelay({ resolution })
        histogram.enable()
        return histogram
      }),
      (histogram) => Effect.sync(() => histogram.disable())
    ),
    (histogram): EventLoopProbe => {
      // The histogram counts the timer's whole interval: the delay is what exceeds its resolution.
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
