/**
 * An Effect `Tracer` whose spans are OpenTelemetry spans, started on an
 * OpenTelemetry `Tracer` so that the SDK's samplers, span processors and
 * exporters see them exactly as they see any other span: what
 * `@effect/opentelemetry`'s tracer does, for less per span and per fiber
 * step.
 *
 * Where the time goes in `@effect/opentelemetry`'s tracer, and what this
 * one does instead:
 * - at every step of a fiber under a span it builds two OpenTelemetry
 *   contexts and walks the span's annotations; here each span builds the
 *   context it makes active once, at its start, and a step only enters it;
 * - a child span's parent context is rebuilt from the active context; here
 *   it is the parent span's own.
 *
 * What it keeps: the active OpenTelemetry context at every step of a traced
 * fiber (so `trace.getActiveSpan()` in an `Effect.sync` or `Effect.promise`,
 * and the instrumentation of any library called there, sees the Effect
 * span), a parent from the active context for a root span started inside
 * non-Effect instrumentation (an incoming HTTP request's span), external
 * parents (`OtelTracer.withSpanContext`, `OtelTracer.makeExternalSpan`) with
 * their trace flags and state, links, events, exact start and end times,
 * exceptions and the error status as `@effect/opentelemetry` records them,
 * and `OtelTracer.currentOtelSpan`, which finds the OpenTelemetry span
 * itself. Unlike it, a span that succeeds keeps the status unset, as the
 * specification asks of instrumentation.
 *
 * @since 0.1.0
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import * as Otel from "@opentelemetry/api"
import { Cause, Context, Effect, Exit, Inspectable, Layer, Option, Tracer } from "effect"

// The key `OtelTracer.currentOtelSpan` looks for to hand out the OpenTelemetry span itself.
const otelSpanTypeId = "~@effect/opentelemetry/OtelTracer/OtelSpan"
// The property of an Effect primitive that runs it, which a tracer's `context` hook must call.
const evaluate = "~effect/Effect/evaluate"
// The context a fiber step has entered, while the step runs: a root span started inside it (a program run from
// within a step) does not take the step's span as its parent, as Effect's own parent, or its absence, decides.
// A variable, not a mark on the span or the context: a step is synchronous, and a mark would cost every span.
let entered: Otel.Context | undefined

const kinds: Record<Tracer.SpanKind, Otel.SpanKind> = {
  internal: Otel.SpanKind.INTERNAL,
  client: Otel.SpanKind.CLIENT,
  server: Otel.SpanKind.SERVER,
  producer: Otel.SpanKind.PRODUCER,
  consumer: Otel.SpanKind.CONSUMER
}

const nanosPerSecond = BigInt(1_000_000_000)

const hrTime = (nanos: bigint): Otel.HrTime => [Number(nanos / nanosPerSecond), Number(nanos % nanosPerSecond)]

const attributeValue = (value: unknown): Otel.AttributeValue => {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value
  if (typeof value === "bigint") return value.toString()
  if (Array.isArray(value) && isHomogeneous(value)) return value.slice() as Otel.AttributeValue
  return Inspectable.toStringUnknown(value)
}

const isHomogeneous = (array: ReadonlyArray<unknown>): boolean => {
  const type = typeof array[0]
  return (array.length === 0 || type === "string" || type === "number" || type === "boolean") &&
    array.every((item) => typeof item === type)
}

const attributesOf = (record: Readonly<Record<string, unknown>>): Otel.Attributes => {
  const attributes: Otel.Attributes = {}
  for (const key of Object.keys(record)) attributes[key] = attributeValue(record[key])
  return attributes
}

const isSampled = (flags: Otel.TraceFlags): boolean => (flags & Otel.TraceFlags.SAMPLED) === Otel.TraceFlags.SAMPLED

/**
 * The OpenTelemetry span context of any Effect span: this tracer's own, an
 * external span's (with the trace flags and state its annotations carry, as
 * `@effect/opentelemetry` puts them there), or another tracer's span.
 */
const spanContextOf = (span: Tracer.AnySpan): Otel.SpanContext => {
  if (span instanceof OtelBridgeSpan) return span.span.spanContext()
  const flags = Context.getOrUndefined(span.annotations, OtelTracer.OtelTraceFlags)
  const state = Context.getOrUndefined(span.annotations, OtelTracer.OtelTraceState)
  const context: Otel.SpanContext = {
    traceId: span.traceId,
    spanId: span.spanId,
    isRemote: span._tag === "ExternalSpan",
    traceFlags: flags ?? (span.sampled ? Otel.TraceFlags.SAMPLED : Otel.TraceFlags.NONE)
  }
  if (state !== undefined) context.traceState = state
  return context
}

// A foreign span (an external parent, or a span of another tracer) gets its context built once, not at every step.
const foreignContexts = new WeakMap<Tracer.AnySpan, Otel.Context>()

const contextOf = (span: Tracer.AnySpan): Otel.Context => {
  if (span instanceof OtelBridgeSpan) return span.context
  let context = foreignContexts.get(span)
  if (context === undefined) {
    context = Otel.trace.setSpanContext(Otel.ROOT_CONTEXT, spanContextOf(span))
    foreignContexts.set(span, context)
  }
  return context
}

/** The span whose context a fiber step under `span` makes active: the nearest one that propagates. */
const propagated = (span: Tracer.AnySpan | undefined): Tracer.AnySpan | undefined => {
  while (span !== undefined) {
    const propagates = span instanceof OtelBridgeSpan
      ? span.propagates
      : !Context.get(span.annotations, Tracer.DisablePropagation)
    if (propagates) return span
    span = span._tag === "Span" ? Option.getOrUndefined(span.parent) : undefined
  }
  return undefined
}

/** The non-Effect span active where a root span starts, as its parent. */
const activeParent = (
  span: Otel.Span | undefined,
  annotations: Context.Context<never>
): Option.Option<Tracer.AnySpan> => {
  if (span === undefined || (entered !== undefined && span === Otel.trace.getSpan(entered))) return Option.none()
  const parent = span.spanContext()
  if (!Otel.trace.isSpanContextValid(parent)) return Option.none()
  return Option.some(Tracer.externalSpan({
    spanId: parent.spanId,
    traceId: parent.traceId,
    sampled: isSampled(parent.traceFlags),
    annotations
  }))
}

/** `context` without a span in it: a new context only when it has one. */
const withoutSpan = (context: Otel.Context): Otel.Context =>
  Otel.trace.getSpan(context) === undefined ? context : Otel.trace.deleteSpan(context)

/**
 * An Effect span backed by an OpenTelemetry span.
 *
 * @category models
 * @since 0.1.0
 */
export class OtelBridgeSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly [otelSpanTypeId] = otelSpanTypeId
  readonly name: string
  readonly kind: Tracer.SpanKind
  readonly annotations: Context.Context<never>
  readonly links: Array<Tracer.SpanLink>
  readonly parent: Option.Option<Tracer.AnySpan>
  readonly sampled: boolean
  readonly spanId: string
  readonly traceId: string
  readonly attributes = new Map<string, unknown>()
  /** The OpenTelemetry span. */
  readonly span: Otel.Span
  /** The context this span makes active: its parent's, with this span in it. */
  readonly context: Otel.Context
  /** False when the span's annotations disable propagation: its fiber steps run in its parent's context. */
  readonly propagates: boolean
  status: Tracer.SpanStatus

  constructor(tracer: Otel.Tracer, options: Parameters<Tracer.Tracer["span"]>[0]) {
    this.name = options.name
    this.kind = options.kind
    this.annotations = options.annotations
    this.links = options.links
    this.propagates = !Context.get(options.annotations, Tracer.DisablePropagation)
    let parentContext: Otel.Context
    if (Option.isSome(options.parent)) {
      this.parent = options.parent
      parentContext = contextOf(options.parent.value)
    } else if (options.root) {
      this.parent = options.parent
      parentContext = withoutSpan(Otel.context.active())
    } else {
      // Keeps the active span object itself: some SDKs, such as Sentry's, record children on it.
      const active = Otel.context.active()
      this.parent = activeParent(Otel.trace.getSpan(active), options.annotations)
      parentContext = Option.isSome(this.parent) ? active : withoutSpan(active)
    }
    this.span = tracer.startSpan(
      options.name,
      {
        kind: kinds[options.kind],
        startTime: hrTime(options.startTime),
        links: options.links.length === 0 ? [] : options.links.map(otelLink)
      },
      parentContext
    )
    const spanContext = this.span.spanContext()
    this.spanId = spanContext.spanId
    this.traceId = spanContext.traceId
    this.sampled = isSampled(spanContext.traceFlags)
    this.context = Otel.trace.setSpan(parentContext, this.span)
    this.status = { _tag: "Started", startTime: options.startTime }
  }

  attribute(key: string, value: unknown): void {
    if (this.status._tag === "Ended") return
    this.span.setAttribute(key, attributeValue(value))
    this.attributes.set(key, value)
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    if (this.status._tag === "Ended") return
    for (const link of links) this.links.push(link)
    this.span.addLinks(links.map(otelLink))
  }

  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    if (this.status._tag === "Ended") return
    this.span.addEvent(name, attributes === undefined ? undefined : attributesOf(attributes), hrTime(startTime))
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    const time = hrTime(endTime)
    // Success leaves the status unset: the specification has instrumentation set OK only when configured to.
    if (Exit.isFailure(exit)) {
      if (Cause.hasInterruptsOnly(exit.cause)) {
        this.span.setAttribute("effect.fiber.interrupted", true)
      } else {
        const errors = Cause.prettyErrors(exit.cause, { includeCauseInStack: true })
        for (const error of errors) this.span.recordException(error, time)
        if (errors.length > 0) this.span.setStatus({ code: Otel.SpanStatusCode.ERROR, message: errors[0]!.message })
      }
    }
    this.span.end(time)
  }
}

const otelLink = (link: Tracer.SpanLink): Otel.Link => ({
  context: spanContextOf(link.span),
  attributes: attributesOf(link.attributes)
})

const evaluateIn = (primitive: any, fiber: unknown) => primitive[evaluate](fiber)

/**
 * The tracer over an OpenTelemetry `Tracer`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (tracer: Otel.Tracer): Tracer.Tracer =>
  Tracer.make({
    span: (options) => new OtelBridgeSpan(tracer, options),
    context(primitive, fiber) {
      const span = propagated(fiber.cache.span)
      if (span === undefined) return evaluateIn(primitive, fiber)
      const previous = entered
      entered = contextOf(span)
      try {
        return Otel.context.with(entered, evaluateIn, undefined, primitive, fiber)
      } finally {
        entered = previous
      }
    }
  })

/**
 * The tracer over the `OtelTracerProvider` in context, with the
 * instrumentation scope `@effect/opentelemetry` gives Effect's spans
 * (`effect` and Effect's version), and the provider's tracer as
 * `OtelTracer.OtelTracer` for code that starts OpenTelemetry spans itself.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<OtelTracer.OtelTracer, never, OtelTracer.OtelTracerProvider> = Layer.effect(
  Tracer.Tracer,
  Effect.map(Effect.service(OtelTracer.OtelTracer), make)
).pipe(Layer.provideMerge(OtelTracer.layerTracer))
