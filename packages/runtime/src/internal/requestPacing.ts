/**
 * Pacing of the HTTP surface: at most `perSecond` requests a second are
 * answered (after a burst of `burst`), and a request past that waits for its
 * turn instead of taking the event loop from the application. Scrapers that
 * never pause are slowed to the pace; a request that would wait longer than
 * `maxWait` is turned away with 429 and `Retry-After`, so waiting requests
 * stay bounded too. This is the generic cell rate algorithm: one timestamp,
 * O(1) a request.
 *
 * @internal
 */
import { Clock, Duration, Effect } from "effect"

/** @internal */
export interface PacingOptions {
  readonly perSecond: number
  readonly burst: number
  readonly maxWait: Duration.Input
}

/** @internal */
export const defaultPacing: PacingOptions = { perSecond: 100, burst: 100, maxWait: "2 seconds" }

/**
 * `admit` is how long the caller must wait for its turn, or `undefined`
 * when it must be turned away.
 *
 * @internal
 */
export const makePacer = (options: PacingOptions) => {
  const interval = 1000 / options.perSecond
  const tolerance = interval * options.burst
  const maxWait = Duration.toMillis(Duration.fromInputUnsafe(options.maxWait))
  // The theoretical arrival time of the next request, in epoch milliseconds.
  let next = 0
  const admit: Effect.Effect<number | undefined> = Effect.map(Clock.currentTimeMillis, (now) => {
    const start = Math.max(next, now)
    const wait = Math.max(0, start - tolerance - now)
    if (wait > maxWait) return undefined
    next = start + interval
    return wait
  })
  return { admit }
}
