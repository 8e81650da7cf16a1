/**
 * A tracer that sees every span just before it ends, while it is still open
 * (so an observer can still set attributes on it), and then ends it exactly
 * as the tracer beneath would. What turns spans into APM records
 * (`SpanOperations`, `SqlMonitoring`) is built on it.
 *
 * @internal
 */
import { Context, Effect, Exit, Tracer } from "effect"
import * as RateLimitedLog from "../RateLimitedLog.ts"

/**
 * `tracer`, with `observe` called at the end of each of its spans. An
 * observer that throws must not take the span's end, or the application,
 * with it: the error is logged at Warning, once a minute, as `what` failing.
 *
 * @internal
 */
export const observeSpanEnds = (
  tracer: Tracer.Tracer,
  what: string,
  observe: (span: Tracer.Span, endTime: bigint, exit: Exit.Exit<unknown, unknown>) => void,
  context: Context.Context<never>
): Tracer.Tracer => {
  const log = RateLimitedLog.make({ interval: "1 minute" })
  return Tracer.make({
    span(options) {
      const span = tracer.span(options)
      const end = span.end
      span.end = (endTime, exit) => {
        try {
          observe(span, endTime, exit)
        } catch (error) {
          Effect.runForkWith(context)(log.warn(what, `${what}: recording span ${span.name} failed: ${error}`))
        }
        end.call(span, endTime, exit)
      }
      return span
    },
    context: tracer.context
  })
}
