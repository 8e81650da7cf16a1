/**
 * Console logging correlated with traces: every Effect log line written
 * inside a span carries its `trace_id` and `span_id` (the names the
 * OpenTelemetry spec gives them in non-OTLP log formats), in the format
 * `APM_LOG_FORMAT` picks: `pretty`, `json` (one object a line, OpenTelemetry
 * log field names) or `logfmt`. Every line is redacted first (`Redaction`):
 * a password in a log annotation or a token in a logged URL is no safer in a
 * log file than in a span.
 *
 * @since 0.1.0
 */
import * as OtelLogger from "@effect/opentelemetry/OtelLogger"
import { Redaction } from "@mcp-apm/core"
import { Array, Cause, Config, Context, Effect, Formatter, Layer, Logger, References, Schema, Tracer } from "effect"
import type * as Fiber from "effect/Fiber"

/**
 * The console formats of `APM_LOG_FORMAT`.
 *
 * @category models
 * @since 0.1.0
 */
export const formats = ["pretty", "json", "logfmt"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type LogFormat = typeof formats[number]

/**
 * `APM_LOG_FORMAT`, `pretty` by default; anything else fails start-up, naming the variable.
 *
 * @category configs
 * @since 0.1.0
 */
export const logFormat: Config.Config<LogFormat> = Config.schema(Schema.Literals(formats), "APM_LOG_FORMAT").pipe(
  Config.withDefault("pretty" as const)
)

/**
 * One log record in the OpenTelemetry log data model's field names.
 *
 * @category models
 * @since 0.1.0
 */
export interface OtelLogRecord {
  readonly timestamp: string
  readonly severity_text: string
  readonly severity_number: number
  readonly body: unknown
  readonly trace_id?: string
  readonly span_id?: string
  /** W3C trace flags, two hex digits: `01` sampled, `00` not. */
  readonly trace_flags?: string
  readonly attributes: Record<string, unknown>
}

const spanOf = (fiber: Fiber.Fiber<unknown, unknown>) => Context.getOrUndefined(fiber.context, Tracer.ParentSpan)

/**
 * The log record of one Effect log call: log annotations and the failure's
 * `exception.type`, `exception.message` and `exception.stacktrace` as
 * attributes, the trace context of the span it was written in.
 *
 * @category formatters
 * @since 0.1.0
 */
export const formatRecord: Logger.Logger<unknown, OtelLogRecord> = Logger.make((options) => {
  const { annotations, message, timestamp } = Logger.formatStructured.log(options)
  const attributes: Record<string, unknown> = { ...annotations }
  const errors = Cause.prettyErrors(options.cause)
  if (errors.length > 0) {
    attributes["exception.type"] = errors[0]!.name
    attributes["exception.message"] = errors[0]!.message
    attributes["exception.stacktrace"] = errors.map((error) => error.stack).join("\n")
  }
  const span = spanOf(options.fiber)
  return {
    timestamp,
    severity_text: options.logLevel.toUpperCase(),
    severity_number: OtelLogger.logLevelToSeverityNumber(options.logLevel),
    body: message,
    ...(span === undefined ? undefined : {
      trace_id: span.traceId,
      span_id: span.spanId,
      trace_flags: span.sampled ? "01" : "00"
    }),
    attributes
  }
})

/**
 * The log record as one line of JSON.
 *
 * @category formatters
 * @since 0.1.0
 */
export const formatJson: Logger.Logger<unknown, string> = Logger.map(
  formatRecord,
  (record) => Formatter.formatJson(record)
)

/** A view of `real` whose log annotations are `annotations`; the fiber itself is left as it is. */
const withAnnotations = (real: Fiber.Fiber<unknown, unknown>, annotations: Record<string, unknown>) =>
  Object.create(real, {
    getRef: {
      value: <A>(ref: Context.Reference<A>): A =>
        ref === References.CurrentLogAnnotations ? annotations as A : real.getRef(ref)
    }
  }) as Fiber.Fiber<unknown, unknown>

/**
 * The logger `self`, seeing the message, the log annotations and the
 * failure only as `Redaction`'s rules leave them, and with `traceContext`
 * the `trace_id` and `span_id` of a line written inside a span among the
 * annotations. A failure is seen as one defect per error, its message and
 * stack trace redacted.
 *
 * @category combinators
 * @since 0.1.0
 */
export const redacting = <Message, Output>(
  self: Logger.Logger<Message, Output>,
  options: { readonly traceContext?: boolean } = {}
): Logger.Logger<Message, Output> =>
  Logger.make((log) => {
    const real = log.fiber
    const rules = real.getRef(Redaction.CurrentRules)
    const annotations = Redaction.redactAttributes(real.getRef(References.CurrentLogAnnotations), rules)
    const span = options.traceContext === true ? spanOf(real) : undefined
    const fiber = withAnnotations(
      real,
      span === undefined ? annotations : { ...annotations, trace_id: span.traceId, span_id: span.spanId }
    )
    const message = Array.isArray(log.message)
      ? log.message.map((part: unknown) => redactPart(part, rules))
      : redactPart(log.message, rules)
    return self.log({ ...log, fiber, message: message as Message, cause: redactCause(log.cause, rules) })
  })

const redactPart = (part: unknown, rules: Redaction.Rules): unknown =>
  typeof part === "string"
    ? Redaction.redactText(part, rules)
    : Array.isArray(part)
    ? Redaction.redactValue("", part, rules)
    : typeof part === "object" && part !== null && !(part instanceof Error)
    ? Redaction.redactAttributes(part as Record<string, unknown>, rules)
    : part

const redactCause = (cause: Cause.Cause<unknown>, rules: Redaction.Rules): Cause.Cause<unknown> =>
  cause.reasons.length === 0 ? cause : Cause.fromReasons(
    Cause.prettyErrors(cause).map((error) => {
      const safe = new Error(Redaction.redactText(error.message, rules))
      safe.name = error.name
      if (error.stack !== undefined) safe.stack = Redaction.redactText(error.stack, rules)
      return Cause.makeDieReason(safe)
    })
  )

/**
 * The console logger of `format`, with the trace context, redacted.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (format: LogFormat): Logger.Logger<unknown, void> => {
  switch (format) {
    case "pretty":
      return redacting(Logger.consolePretty(), { traceContext: true })
    case "logfmt":
      return redacting(Logger.consoleLogFmt, { traceContext: true })
    case "json":
      // The record carries the trace context in fields of its own.
      return redacting(Logger.withConsoleLog(formatJson))
  }
}

/**
 * Replaces Effect's default console logger with the one `APM_LOG_FORMAT`
 * picks; loggers of the application's own stay.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<never, Config.ConfigError> = Layer.effect(
  Logger.CurrentLoggers,
  Effect.gen(function*() {
    const logger = make(yield* logFormat)
    const current = yield* Logger.CurrentLoggers
    return new Set([...Array.filter(current, (l) => l !== Logger.defaultLogger), logger])
  })
)
