/**
 * APM from the spans an application already makes: a tracer that wraps the
 * one in context and hands each selected span, as it ends, to `Apm` as an
 * operation (metrics, summary, baseline, anomaly detection, insights), with
 * no change to the application's code. `Effect.withSpan`, `Effect.fn` and
 * effect/http's server and client spans all qualify.
 *
 * Which spans: `APM_TRACE_SPANS` is `none` (the default), `http` (the
 * server and client spans of HTTP requests), `all`, or a comma-separated
 * list of span-name patterns (`*` matches any run of characters) that may
 * include `http`: `http,UserRepo.*,Billing.charge`.
 *
 * The operation is named and typed from the span's OpenTelemetry
 * attributes: an HTTP server span is `http_request` named
 * `{method} {http.route}` (the path folded to a template when no route
 * matched), an HTTP client span `external_api` named
 * `{method} {server.address}{path template}`, a span with `db.system.name`
 * `database_query` named by `db.query.summary` (else
 * `{db.operation.name} {db.collection.name}`), one with
 * `gen_ai.operation.name` `model_request` named
 * `{gen_ai.operation.name} {gen_ai.request.model}`; any other span is a
 * `custom_operation` under its own name. Names go through the same
 * operation table as `Apm.trace`, so the same cardinality bound holds.
 * A span `Apm.trace` made (it carries `apm.operation.type`) is already an
 * operation and is not counted again.
 *
 * The wrapped span ends exactly as it would: the operation is recorded
 * first, while the span is still open (so that an anomaly marks it), and a
 * failure to record cannot reach the application, which never sees it.
 *
 * @since 0.1.0
 */
import { Config, Context, Effect, Exit, Layer, Schema, Tracer } from "effect"
import type { ApmService, MeasuredOperation } from "./Apm.ts"
import { Apm, operationTypeKey } from "./Apm.ts"
import { normalizeMethod, normalizePath } from "./HttpNormalizer.ts"
import type { OperationType } from "./OperationType.ts"
import type { Attributes, OperationStatus } from "./PerformanceMetrics.ts"
import { describeExit } from "./internal/exitOutcome.ts"
import { spanEndWatcher, watchSpans } from "./internal/spanEnds.ts"

/**
 * Which finished spans become operations: HTTP spans, spans whose name
 * matches one of `names`, or every span. `none` selects nothing.
 *
 * @category models
 * @since 0.1.0
 */
export interface SpanSelection {
  readonly all: boolean
  readonly http: boolean
  readonly names: ReadonlyArray<RegExp>
}

/**
 * Selects no span: the bridge is off.
 *
 * @category constants
 * @since 0.1.0
 */
export const none: SpanSelection = { all: false, http: false, names: [] }

const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)

/**
 * The selection a value of `APM_TRACE_SPANS` names (see the module
 * documentation); `undefined` for a value that names none, such as an
 * empty entry in a list.
 *
 * @category constructors
 * @since 0.1.0
 */
export const parse = (text: string): SpanSelection | undefined => {
  const value = text.trim()
  if (value === "none") return none
  if (value === "all") return { all: true, http: false, names: [] }
  const entries = value.split(",").map((entry) => entry.trim())
  if (entries.some((entry) => entry === "" || /\s/.test(entry) || entry === "none" || entry === "all")) {
    return undefined
  }
  return {
    all: false,
    http: entries.includes("http"),
    names: entries.filter((entry) => entry !== "http").map(globToRegExp)
  }
}

const SelectionText = Schema.String.check(
  Schema.makeFilter((text: string) => parse(text) !== undefined, {
    expected: "none, http, all, or a comma-separated list of span-name patterns (with * as a wildcard) and http"
  })
)

/**
 * `APM_TRACE_SPANS`, `none` when unset; a value that names no selection
 * fails with an error naming the variable, the value and what was expected.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<SpanSelection> = Config.schema(SelectionText, "APM_TRACE_SPANS").pipe(
  Config.withDefault("none"),
  Config.map((text) => parse(text)!)
)

const isSelected = (selection: SpanSelection, span: Tracer.Span): boolean =>
  selection.all ||
  (selection.http && span.attributes.has("http.request.method")) ||
  selection.names.some((pattern) => pattern.test(span.name))

const text = (attributes: ReadonlyMap<string, unknown>, key: string): string | undefined => {
  const value = attributes.get(key)
  return typeof value === "string" && value !== "" ? value : typeof value === "number" ? String(value) : undefined
}

/** The attributes an operation keeps from its span: the ones it is named and typed from, and the outcome. */
const keptAttributes = [
  "http.request.method",
  "http.route",
  "http.response.status_code",
  "server.address",
  "db.system.name",
  "db.operation.name",
  "db.collection.name",
  "db.query.summary",
  "gen_ai.operation.name",
  "gen_ai.provider.name",
  "gen_ai.request.model",
  "gen_ai.response.model"
] as const

/**
 * The operation a span describes: its name, type and attributes, as the
 * module documentation lays out.
 *
 * @category constructors
 * @since 0.1.0
 */
export const classify = (span: Tracer.Span): { readonly name: string; readonly type: OperationType } => {
  const a = span.attributes
  const method = text(a, "http.request.method")
  if (method !== undefined) {
    const m = normalizeMethod(method)
    if (span.kind === "client") {
      const path = normalizePath(text(a, "url.path") ?? text(a, "url.full") ?? "/")
      return { name: `${m} ${text(a, "server.address") ?? "unknown"}${path}`, type: "external_api" }
    }
    const route = text(a, "http.route") ?? normalizePath(text(a, "url.path") ?? "/")
    return { name: `${m} ${route}`, type: "http_request" }
  }
  if (a.has("db.system.name")) {
    const operation = text(a, "db.operation.name")
    const collection = text(a, "db.collection.name")
    const summary = text(a, "db.query.summary") ??
      (operation === undefined ? undefined : collection === undefined ? operation : `${operation} ${collection}`)
    return { name: summary ?? span.name, type: "database_query" }
  }
  const genAi = text(a, "gen_ai.operation.name")
  if (genAi !== undefined) {
    const model = text(a, "gen_ai.request.model")
    return { name: model === undefined ? genAi : `${genAi} ${model}`, type: "model_request" }
  }
  return { name: span.name, type: "custom_operation" }
}

/** An HTTP response that is an error by the HTTP conventions: 5xx served, 4xx or 5xx received. */
const failedStatus = (span: Tracer.Span): number | undefined => {
  const status = span.attributes.get("http.response.status_code")
  if (typeof status !== "number") return undefined
  return status >= 500 || (span.kind === "client" && status >= 400) ? status : undefined
}

const outcome = (
  span: Tracer.Span,
  exit: Exit.Exit<unknown, unknown>
): {
  readonly status: OperationStatus
  readonly errorType: string | undefined
  readonly message: string | undefined
} => {
  const described = describeExit(exit)
  const failed = failedStatus(span)
  // effect/http ends the span of a 5xx with a generic failure: the status code says more, as the HTTP conventions have it.
  return failed === undefined || described.status === "interrupted"
    ? described
    : { status: "error", errorType: String(failed), message: `HTTP ${failed}` }
}

/**
 * The operation a finished span describes, ending at `endTime` (the
 * tracer's nanoseconds); `undefined` for a span that never started.
 *
 * @category constructors
 * @since 0.1.0
 */
export const toOperation = (
  span: Tracer.Span,
  endTime: bigint,
  exit: Exit.Exit<unknown, unknown>
): { readonly operation: MeasuredOperation; readonly startMillis: number } | undefined => {
  if (span.status._tag !== "Started") return undefined
  const { name, type } = classify(span)
  const { errorType, message, status } = outcome(span, exit)
  const attributes: Record<string, string | number | boolean> = {}
  for (const key of keptAttributes) {
    const value = span.attributes.get(key)
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") attributes[key] = value
  }
  const startTime = span.status.startTime
  return {
    startMillis: Number(startTime) / 1e6,
    operation: {
      name,
      type,
      // A span without timing (TracerTimingEnabled off) ends at 0: no duration, not a negative one.
      duration: endTime > startTime ? Number(endTime - startTime) / 1e9 : 0,
      status,
      errorType,
      errorMessage: message,
      attributes: attributes as Attributes
    }
  }
}

/**
 * A tracer over `tracer` whose selected spans, as they end, are recorded by
 * `apm` against the metric registry and services of `context`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  tracer: Tracer.Tracer,
  apm: ApmService,
  selection: SpanSelection,
  context: Context.Context<never>
): Tracer.Tracer => {
  const record = (span: Tracer.Span, endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
    if (span.status._tag !== "Started" || span.attributes.has(operationTypeKey) || !isSelected(selection, span)) return
    const found = toOperation(span, endTime, exit)
    if (found !== undefined) apm.recordUnsafe(found.operation, found.startMillis, context, span)
  }
  return watchSpans(tracer, spanEndWatcher("span operations", record, context))
}

/**
 * Installs the bridge over the tracer in context when `APM_TRACE_SPANS`
 * selects any span; with `none` the tracer is left as it is.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<never, Config.ConfigError, Apm> = Layer.unwrap(
  Effect.map(config, (selection) => layerSelection(selection))
)

/**
 * The bridge with an explicit selection.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerSelection = (selection: SpanSelection): Layer.Layer<never, never, Apm> =>
  !selection.all && !selection.http && selection.names.length === 0
    ? Layer.empty
    : Layer.effect(
      Tracer.Tracer,
      Effect.gen(function*() {
        const context = yield* Effect.context<never>()
        return make(yield* Tracer.Tracer, yield* Apm, selection, context)
      })
    )
