/**
 * Profiling and the seed's specialised tracers: CPU and heap profiles of a
 * sampled fraction of runs, database queries traced under their normalised
 * shape, external API calls with their HTTP status, and one-call helpers for
 * code that timed an HTTP request, a query or an API call itself.
 *
 * Operation names stay bounded: a query is named by its statement and table
 * (`SELECT users`), a URL by its method and path template
 * (`GET /users/:id`), never by free text.
 *
 * Profiling never changes what the profiled effect does: a profiler that
 * fails (or is busy) is logged and skipped, and the effect runs as it would.
 *
 * The public `Apm` module re-exports these, so that each has one name.
 *
 * @internal
 */
import { Clock, Context, Effect, Exit, Option, Random, Tracer } from "effect"
import { dual } from "effect/Function"
import type { ApmOptions } from "../ApmConfig.ts"
import * as ErrorType from "../ErrorType.ts"
import { normalizeEndpoint, normalizeMethod, normalizePath } from "../HttpNormalizer.ts"
import type { CpuProfileSummary, HeapProfileSummary, ProfileRecording, ProfilerError } from "../Profiler.ts"
import { describeFunction, Profiler } from "../Profiler.ts"
import { shape } from "../QueryNormalizer.ts"
import { Apm, recordMeasured, trace } from "./apm.ts"
import * as DatabaseMetrics from "./databaseMetrics.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface ProfileOptions {
  /** Names the profile file; by default the current span's name. */
  readonly label?: string | undefined
  /** Overrides the configured sample rate (`profilingSampleRate` for CPU, `memorySampleRate` for heap). */
  readonly sampleRate?: number | undefined
  /** How many functions the span summary lists; 5 by default. */
  readonly top?: number | undefined
}

const optionsOf = (fiber: { readonly context: Context.Context<never> }): ApmOptions =>
  Context.getUnsafe(fiber.context as Context.Context<Apm>, Apm).options

const labelOf = (context: Context.Context<never>, options: ProfileOptions): string => {
  if (options.label !== undefined) return options.label
  const span = Context.getOrUndefined(context, Tracer.ParentSpan)
  return span?._tag === "Span" ? span.name : "profile"
}

const logFailure = (error: ProfilerError) =>
  Effect.logWarning(`profiler: ${error.kind} profile failed: ${error.message}`)

/**
 * Runs `self` inside a recording started by `start`: the recording stops
 * whatever the exit (so an interrupted run still writes its profile), and a
 * failing profiler only logs.
 */
const profiled = <A, E, R, S>(
  self: Effect.Effect<A, E, R>,
  start: Effect.Effect<Option.Option<ProfileRecording<S>>, ProfilerError>,
  annotate: (summary: S) => Effect.Effect<void>
): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    start.pipe(Effect.catch((error) => Effect.as(logFailure(error), Option.none()))),
    () => self,
    (recording) =>
      Option.isNone(recording)
        ? Effect.void
        : recording.value.stop.pipe(Effect.flatMap(annotate), Effect.catch(logFailure))
  )

const sampled = (fiber: { readonly getRef: <X>(ref: Context.Reference<X>) => X }, rate: number): boolean =>
  rate >= 1 || (rate > 0 && fiber.getRef(Random.Random).nextDoubleUnsafe() < rate)

const annotateCpu = (top: number) => (summary: CpuProfileSummary) =>
  Effect.annotateCurrentSpan({
    "apm.profile.cpu.file": summary.file,
    "apm.profile.cpu.duration_seconds": summary.durationSeconds,
    "apm.profile.cpu.samples": summary.samples,
    "apm.profile.cpu.top_functions": summary.topFunctions.slice(0, top).map((f) =>
      `${describeFunction(f)} ${(f.selfSeconds * 1000).toFixed(1)} ms ${f.selfPercent.toFixed(1)}%`
    )
  })

const annotateHeap = (top: number) => (summary: HeapProfileSummary) =>
  Effect.annotateCurrentSpan({
    "apm.profile.heap.file": summary.file,
    "apm.profile.heap.used_before_bytes": summary.heapUsedBefore,
    "apm.profile.heap.used_after_bytes": summary.heapUsedAfter,
    "apm.profile.heap.sampled_bytes": summary.sampledBytes,
    "apm.profile.heap.top_allocations": summary.topAllocations.slice(0, top).map((f) =>
      `${describeFunction(f)} ${f.selfBytes} B ${f.selfPercent.toFixed(1)}%`
    )
  })

/**
 * The body of `profileCpu` and `profileMemory`: `rateOf` is the fraction of
 * runs to profile under the current options (undefined when that kind is
 * switched off, which an explicit `sampleRate` does not override), `start`
 * begins a recording of that kind.
 */
const profiling = <S>(
  rateOf: (options: ApmOptions) => number | undefined,
  start: (
    profiler: Profiler["Service"],
    label: string
  ) => Effect.Effect<Option.Option<ProfileRecording<S>>, ProfilerError>,
  annotate: (top: number) => (summary: S) => Effect.Effect<void>
) =>
<A, E, R>(self: Effect.Effect<A, E, R>, options: ProfileOptions = {}): Effect.Effect<A, E, R | Apm | Profiler> =>
  Effect.withFiber((fiber) => {
    const o = optionsOf(fiber)
    const rate = o.enabled && o.profilingEnabled ? rateOf(o) : undefined
    if (rate === undefined || !sampled(fiber, options.sampleRate ?? rate)) return self
    const profiler = Context.getUnsafe(fiber.context as Context.Context<Profiler>, Profiler)
    return profiled(self, start(profiler, labelOf(fiber.context, options)), annotate(options.top ?? 5))
  })

/**
 * Records a V8 CPU profile of the wrapped effect for a `profilingSampleRate`
 * fraction of runs (when `profilingEnabled` and `cpuProfilingEnabled`),
 * writes it as a `.cpuprofile` file and adds a summary to the current span:
 * `apm.profile.cpu.file` and `apm.profile.cpu.top_functions` (top functions
 * by self time, with file, line and column). Place it inside `Apm.trace` to
 * annotate the operation's span.
 *
 * @example
 * ```ts
 * declare const buildReport: Effect.Effect<string>
 *
 * const report = buildReport.pipe(Apm.profileCpu(), Apm.trace("report", "business_transaction"))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const profileCpu: {
  (options?: ProfileOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | Apm | Profiler>
  <A, E, R>(self: Effect.Effect<A, E, R>, options?: ProfileOptions): Effect.Effect<A, E, R | Apm | Profiler>
} = dual(
  (args) => Effect.isEffect(args[0]),
  profiling(
    (o) => o.cpuProfilingEnabled ? o.profilingSampleRate : undefined,
    (profiler, label) => profiler.startCpu(label),
    annotateCpu
  )
)

/**
 * Records a sampling heap profile of the wrapped effect for a
 * `memorySampleRate` fraction of runs (when `profilingEnabled` and
 * `memoryProfilingEnabled`), writes it as a `.heapprofile` file and adds to
 * the current span the V8 heap in use before and after and the top
 * allocating functions.
 *
 * @category combinators
 * @since 0.1.0
 */
export const profileMemory: {
  (options?: ProfileOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | Apm | Profiler>
  <A, E, R>(self: Effect.Effect<A, E, R>, options?: ProfileOptions): Effect.Effect<A, E, R | Apm | Profiler>
} = dual(
  (args) => Effect.isEffect(args[0]),
  profiling(
    (o) => o.memoryProfilingEnabled ? o.memorySampleRate : undefined,
    (profiler, label) => profiler.startHeap(label),
    annotateHeap
  )
)

/**
 * What a traced query says about its database.
 *
 * @category models
 * @since 0.1.0
 */
export interface QueryOptions {
  /**
   * `db.system.name`, as OpenTelemetry names database systems
   * (`postgresql`, `mysql`, `sqlite`, `mssql`, `mongodb`, ...); `other_sql`
   * by default.
   */
  readonly system?: string | undefined
}

const { queryAttributes, recordDuration: recordDbDuration, slowQuery } = DatabaseMetrics
const systemOf = (options: QueryOptions | undefined): string => DatabaseMetrics.systemOf(options?.system)

/**
 * Traces a database query as a `database_query` operation with a CLIENT
 * span named by its `db.query.summary`, the statement and table
 * (`SELECT users`), with `db.system.name` (`options.system`, else
 * `other_sql`), `db.query.text` normalised (literals replaced by `?`, so no
 * value leaks), `db.operation.name` and `db.collection.name`, and records
 * it in the `db.client.operation.duration` histogram
 * (`db_client_operation_duration_seconds`). Queries slower than
 * `databaseQueryThreshold` are counted in `apm_slow_queries_total` and
 * logged with their normalised text. With `databaseMonitoringEnabled` off
 * the effect runs untraced.
 *
 * @example
 * ```ts
 * declare const sql: (query: TemplateStringsArray, ...values: Array<unknown>) => Effect.Effect<ReadonlyArray<unknown>>
 * declare const id: number
 *
 * const user = sql`SELECT * FROM users WHERE id = ${id}`.pipe(
 *   Apm.profileQuery("SELECT * FROM users WHERE id = $1", { system: "postgresql" })
 * )
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const profileQuery: {
  (query: string, options?: QueryOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | Apm>
  <A, E, R>(self: Effect.Effect<A, E, R>, query: string, options?: QueryOptions): Effect.Effect<A, E, R | Apm>
} = dual((args) => Effect.isEffect(args[0]), <A, E, R>(
  self: Effect.Effect<A, E, R>,
  query: string,
  options?: QueryOptions
): Effect.Effect<A, E, R | Apm> => {
  const system = systemOf(options)
  const normalised = shape(query, system)
  const attributes = queryAttributes(normalised, system)
  const timed = Effect.withFiber((fiber) => {
    const threshold = optionsOf(fiber).databaseQueryThreshold
    const clock = fiber.getRef(Clock.Clock)
    const start = clock.currentTimeNanosUnsafe()
    return Effect.onExit(self, (exit) => {
      const duration = Number(clock.currentTimeNanosUnsafe() - start) / 1e9
      const recorded = recordDbDuration(normalised, system, duration, ErrorType.fromExit(exit))
      return duration > threshold ? Effect.andThen(recorded, slowQuery(normalised, duration)) : recorded
    })
  })
  const traced = trace(timed, normalised.operationName, "database_query", attributes)
  return Effect.withFiber((fiber) => {
    const o = optionsOf(fiber)
    return o.enabled && o.databaseMonitoringEnabled ? traced : self
  })
})

const serviceName = (service: string): string => {
  const cleaned = service.trim().replace(/[^\w.-]/g, "_").slice(0, 64)
  return cleaned === "" ? "unknown" : cleaned
}

/** The numeric HTTP status a value carries: `status`, `statusCode` or `response.status`. */
const statusOf = (value: unknown): number | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const v = value as { status?: unknown; statusCode?: unknown; response?: { status?: unknown } }
  const status = v.status ?? v.statusCode ?? (typeof v.response === "object" ? v.response?.status : undefined)
  return typeof status === "number" && Number.isInteger(status) && status >= 100 && status <= 599 ? status : undefined
}

const annotateStatus = (exit: Exit.Exit<unknown, unknown>) => {
  const status = Exit.isSuccess(exit)
    ? statusOf(exit.value)
    : Option.getOrUndefined(Option.map(Exit.findErrorOption(exit), statusOf))
  return status === undefined ? Effect.void : Effect.annotateCurrentSpan("http.response.status_code", status)
}

/**
 * Traces a call to an external API as an `external_api` operation named
 * `<service> <endpoint template>` (slow past `externalApiThreshold`), with
 * `peer.service` and `url.template`, and `http.response.status_code` on the
 * span when the effect's success value (or typed error) carries a numeric
 * `status`, `statusCode` or `response.status`. With
 * `externalApiMonitoringEnabled` off the effect runs untraced.
 *
 * @example
 * ```ts
 * declare const callStripe: Effect.Effect<{ readonly status: number }, Error>
 *
 * const charge = callStripe.pipe(Apm.traceExternalApi("stripe", "POST /v1/charges"))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceExternalApi: {
  (service: string, endpoint: string): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | Apm>
  <A, E, R>(self: Effect.Effect<A, E, R>, service: string, endpoint: string): Effect.Effect<A, E, R | Apm>
} = dual(3, <A, E, R>(self: Effect.Effect<A, E, R>, service: string, endpoint: string) => {
  const template = normalizeEndpoint(endpoint)
  const peer = serviceName(service)
  const traced = trace(Effect.onExit(self, annotateStatus), `${peer} ${template}`, "external_api", {
    "peer.service": peer,
    "url.template": template
  })
  return Effect.withFiber((fiber) => {
    const o = optionsOf(fiber)
    return o.enabled && o.externalApiMonitoringEnabled ? traced : self
  })
})

/**
 * Records an HTTP request the caller timed itself (`duration` in seconds) as
 * an `http_request` operation named `<METHOD> <path template>`: the same
 * metrics, summary, baseline and anomaly detection as `Apm.trace`. A 5xx
 * status records an error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const traceHttpRequest = (
  method: string,
  url: string,
  statusCode: number,
  duration: number
): Effect.Effect<void, never, Apm> => {
  const m = normalizeMethod(method)
  const route = normalizePath(url)
  const failed = statusCode >= 500
  return recordMeasured({
    name: `${m} ${route}`,
    type: "http_request",
    duration,
    status: failed ? "error" : "ok",
    errorMessage: failed ? `HTTP ${statusCode}` : undefined,
    // the HTTP conventions' error.type for a response that is an error: its status code
    errorType: failed ? String(statusCode) : undefined,
    attributes: { "http.request.method": m, "http.route": route, "http.response.status_code": statusCode }
  })
}

/**
 * Records a database query the caller timed itself (`duration` in seconds)
 * as `profileQuery` would have traced it: the same attributes, the
 * `db.client.operation.duration` histogram (`error.type` `_OTHER` for a
 * failure), slow-query counting and log included.
 *
 * @category constructors
 * @since 0.1.0
 */
export const traceDatabaseQuery = (
  query: string,
  duration: number,
  success: boolean,
  options?: QueryOptions
): Effect.Effect<void, never, Apm> =>
  Effect.withFiber((fiber) => {
    const o = optionsOf(fiber)
    if (!o.enabled || !o.databaseMonitoringEnabled) return Effect.void
    const system = systemOf(options)
    const normalised = shape(query, system)
    const recorded = Effect.andThen(
      recordMeasured({
        name: normalised.operationName,
        type: "database_query",
        duration,
        status: success ? "ok" : "error",
        errorMessage: success ? undefined : "query failed",
        attributes: queryAttributes(normalised, system)
      }),
      recordDbDuration(normalised, system, duration, success ? undefined : ErrorType.other)
    )
    return duration > o.databaseQueryThreshold ? Effect.andThen(recorded, slowQuery(normalised, duration)) : recorded
  })

/**
 * Records a call to an external API the caller timed itself (`duration` in
 * seconds) as `traceExternalApi` would have traced it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const recordExternalApi = (
  service: string,
  endpoint: string,
  duration: number,
  success: boolean
): Effect.Effect<void, never, Apm> =>
  Effect.withFiber((fiber) => {
    const o = optionsOf(fiber)
    if (!o.enabled || !o.externalApiMonitoringEnabled) return Effect.void
    const template = normalizeEndpoint(endpoint)
    const peer = serviceName(service)
    return recordMeasured({
      name: `${peer} ${template}`,
      type: "external_api",
      duration,
      status: success ? "ok" : "error",
      errorMessage: success ? undefined : "external API call failed",
      attributes: { "peer.service": peer, "url.template": template }
    })
  })
