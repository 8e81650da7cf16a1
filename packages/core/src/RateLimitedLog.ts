/**
 * Warnings that cannot flood a log: at most one line per key (a service and
 * field, a failure reason) per interval, each saying how many were held back
 * since the previous one. An APM that logs every bad observation or every
 * failed export turns one fault of its own into a second fault of the
 * application's (disk, log bill, noise).
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export interface RateLimitedLog {
  /**
   * Logs `message` at Warning unless `key` was logged less than an interval
   * ago. Callers outside Effect (an SDK callback) run it with
   * `Effect.runForkWith(context)`.
   */
  readonly warn: (key: string, message: string, annotations?: Record<string, unknown>) => Effect.Effect<void>
}

/**
 * Keys are kept up to `maxKeys`; past it the oldest is forgotten, so a flood
 * of distinct keys costs bounded memory (and logs a little more, never less).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  options: { readonly interval?: Duration.Input; readonly maxKeys?: number } = {}
): RateLimitedLog => {
  const interval = Duration.toMillis(Duration.fromInputUnsafe(options.interval ?? "1 minute"))
  const maxKeys = options.maxKeys ?? 1000
  const last = new Map<string, { at: number; held: number }>()

  // How many lines were held back before this one, or `undefined` when this one must be held back.
  const admit = (key: string, nowMillis: number): number | undefined => {
    const entry = last.get(key)
    if (entry !== undefined && nowMillis - entry.at < interval) {
      entry.held++
      return undefined
    }
    const held = entry?.held ?? 0
    last.delete(key)
    if (last.size >= maxKeys) last.delete(last.keys().next().value!)
    last.set(key, { at: nowMillis, held: 0 })
    return held
  }

  const warn = (key: string, message: string, annotations: Record<string, unknown> = {}): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const held = admit(key, now)
      if (held === undefined) return Effect.void
      const text = held === 0 ? message : `${message} (${held} more since the last warning)`
      return Effect.logWarning(text).pipe(Effect.annotateLogs(annotations))
    })

  return { warn }
}
