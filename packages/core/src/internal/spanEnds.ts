/**
 * A tracer that sees spans just before they end, while they are still open
 * (so an observer can still set attributes on them), and then ends them
 * exactly as the tracer beneath would. What turns spans into APM records
 * (`SpanOperations`, `SqlMonitoring`) is built on it.
 *
 * @internal
 */
import { Context, Effect, Exit, Tracer } from "effect"
import * as RateLimitedLog from "../RateLimitedLog.ts"

/** @internal */
export type SpanEndObserver = (span: Tracer.Span, endTime: bigint, exit: Exit.Exit<unknown, unknown>) => void

/**
 * Watches spans' ends, each span once however often it is handed over. An
 * observer that throws must not take the span's end, or the application,
 * with it: the error is logged at Warning, once a minute, as `what` failing.
 *
 * @internal
 */
export const spanEndWatcher = (
  what: string,
  observe: SpanEndObserver,
  context: Context.Context<never>
): (span: Tracer.Span) => void => {
  const log = RateLimitedLog.make({ interval: "1 minute" })
  // Each watcher marks its own ends: cheaper than a set of every span watched.
  const mark = Symbol(what)
  return (span) => {
    if ((span.end as { [mark]?: true })[mark]) return
    const end = span.end
    const watchedEnd = (endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
      try {
        observe(span, endTime, exit)
      } catch (error) {
        Effect.runForkWith(context)(log.warn(what, `${what}: recording span ${span.name} failed: ${error}`))
      }
      end.call(span, endTime, exit)
    }
    ;(watchedEnd as { [mark]?: true })[mark] = true
    span.end = watchedEnd
  }
}

/**
 * `tracer`, with the spans `select` picks from their start options watched
 * by `watch`; the others are the tracer's own, untouched and at no cost.
 *
 * @internal
 */
export const watchSpans = (
  tracer: Tracer.Tracer,
  watch: (span: Tracer.Span) => void,
  select: (options: Parameters<Tracer.Tracer["span"]>[0]) => boolean = () => true
): Tracer.Tracer =>
  Tracer.make({
    span(options) {
      const span = tracer.span(options)
      if (select(options)) watch(span)
      return span
    },
    context: tracer.context
  })
