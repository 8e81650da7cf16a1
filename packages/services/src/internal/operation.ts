/**
 * How every service operation runs: through `Apm.trace` (span, core metrics,
 * baseline, anomaly detection), timed on the fiber's `Clock` for the
 * service's own histograms (so `TestClock` makes durations exact in tests),
 * with the outcome handed to a recorder that runs however the effect ended.
 *
 * @internal
 */
import { Apm } from "@mcp-apm/core"
import type { OperationType, PerformanceMetrics } from "@mcp-apm/core"
import { Clock, Effect, Option } from "effect"
import type { Exit, Tracer } from "effect"

/** @internal */
export type Recorder<A, E> = (seconds: number, exit: Exit.Exit<A, E>) => Effect.Effect<void>

/**
 * Runs `self` as one `Apm.trace` operation, then `record`. The `Apm` the
 * service layer was built with is provided here, so callers' effects do not
 * carry `Apm` in their requirements.
 *
 * @internal
 */
export const traceOperation = <A, E, R>(
  apm: Apm.ApmService,
  self: Effect.Effect<A, E, R>,
  name: string,
  type: OperationType.OperationType,
  attributes: PerformanceMetrics.Attributes,
  record: Recorder<A, E>,
  options?: Apm.TraceOptions
): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) => {
    const clock = fiber.getRef(Clock.Clock)
    const start = clock.currentTimeNanosUnsafe()
    return Apm.trace(self, name, type, attributes, options).pipe(
      Effect.provideService(Apm.Apm, apm),
      Effect.onExit((exit) => record(Number(clock.currentTimeNanosUnsafe() - start) / 1e9, exit))
    )
  })

/**
 * Runs `f` with the current span, if any: values known only inside or at the
 * end of an operation are set on it directly, whichever child span is
 * current when they arrive. With monitoring disabled there is no span.
 *
 * @internal
 */
export const withCurrentSpan = <A, E, R>(
  f: (span: Tracer.Span | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => Effect.flatMap(Effect.option(Effect.currentSpan), (span) => f(Option.getOrUndefined(span)))

/** Sets `attributes` on `span`, leaving out those whose value was dropped (`undefined`). @internal */
export const annotate = (span: Tracer.Span | undefined, attributes: Record<string, unknown>): void => {
  if (span === undefined) return
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) span.attribute(key, value)
}

const maxTextAttribute = 256

/** Free text (a reason, a message) cut short before it becomes a span attribute. @internal */
export const shortText = (text: string): string =>
  text.length <= maxTextAttribute ? text : text.slice(0, maxTextAttribute - 1) + "…"
