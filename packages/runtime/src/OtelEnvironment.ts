/**
 * The OpenTelemetry SDK's standard environment variables, read through
 * Effect `Config` with the spec's defaults, so that a bad value fails
 * start-up naming the variable and tests give their own `ConfigProvider`
 * instead of mutating `process.env`.
 *
 * @since 0.1.0
 */
import { Config, Option, Schema } from "effect"

/**
 * The three OpenTelemetry signals, as the variables and URL paths spell them.
 *
 * @category models
 * @since 0.1.0
 */
export type Signal = "traces" | "metrics" | "logs"

/**
 * Where and how an OTLP/HTTP exporter sends one signal.
 *
 * @category models
 * @since 0.1.0
 */
export interface OtlpExporterOptions {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMillis: number
}

const Millis = Schema.Int.check(Schema.isGreaterThan(0))

/**
 * A positive number of milliseconds, or of items, from `name`, `fallback` when unset.
 *
 * @category constructors
 * @since 0.1.0
 */
export const positiveInt = (name: string, fallback: number): Config.Config<number> =>
  Config.schema(Millis, name).pipe(Config.withDefault(fallback))

// Empty means unset, as for the SDK.
const Endpoint = Schema.String.check(
  Schema.isPattern(/^(|https?:\/\/\S+)$/, { expected: "an http:// or https:// URL" })
)
const endpoint = (name: string) => Config.schema(Endpoint, name).pipe(Config.withDefault(""))

// W3C Baggage style, as OTEL_RESOURCE_ATTRIBUTES: `k=v,k2=v2`, percent-decoded. A header value is a secret: the
// error names the variable and the key, never the value.
const headers = (name: string) =>
  Config.Record(Schema.StringFromUriComponent, Schema.StringFromUriComponent, name, {
    trim: true,
    keepEmptyValues: true
  }).pipe(Config.withDefault({}))

const upper = (signal: Signal) => signal.toUpperCase()

/**
 * `OTEL_SDK_DISABLED`: when true, no signal is exported, whatever the other variables say.
 *
 * @category configs
 * @since 0.1.0
 */
export const sdkDisabled: Config.Config<boolean> = Config.Boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false))

/**
 * The OTLP/HTTP exporter of `signal`, or none when the SDK is disabled, when
 * `OTEL_{SIGNAL}_EXPORTER` is `none` or when no endpoint is set (the spec's
 * `localhost:4318` default is not assumed: no endpoint, no export).
 *
 * The signal's own variable wins over the general one, as the OTLP exporter
 * spec says: `OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT` is used as it is, the
 * general `OTEL_EXPORTER_OTLP_ENDPOINT` gets `v1/{signal}` appended;
 * `OTEL_EXPORTER_OTLP_{SIGNAL}_HEADERS` entries override the general ones
 * key by key; `OTEL_EXPORTER_OTLP_{SIGNAL}_TIMEOUT` over
 * `OTEL_EXPORTER_OTLP_TIMEOUT` (10 s). An exporter other than `otlp` or
 * `none` fails start-up, naming the variable.
 *
 * @category configs
 * @since 0.1.0
 */
export const otlpExporter = (signal: Signal): Config.Config<Option.Option<OtlpExporterOptions>> => {
  const name = upper(signal)
  return Config.all({
    disabled: sdkDisabled,
    exporter: Config.schema(Schema.Literals(["otlp", "none"]), `OTEL_${name}_EXPORTER`).pipe(
      Config.withDefault("otlp")
    ),
    signalEndpoint: endpoint(`OTEL_EXPORTER_OTLP_${name}_ENDPOINT`),
    endpoint: endpoint("OTEL_EXPORTER_OTLP_ENDPOINT"),
    headers: headers("OTEL_EXPORTER_OTLP_HEADERS"),
    signalHeaders: headers(`OTEL_EXPORTER_OTLP_${name}_HEADERS`),
    signalTimeout: Config.option(Config.schema(Millis, `OTEL_EXPORTER_OTLP_${name}_TIMEOUT`)),
    timeout: positiveInt("OTEL_EXPORTER_OTLP_TIMEOUT", 10_000)
  }).pipe(
    Config.map((env) =>
      env.disabled || env.exporter === "none" || (env.signalEndpoint === "" && env.endpoint === "")
        ? Option.none()
        : Option.some({
          url: env.signalEndpoint ||
            `${env.endpoint.endsWith("/") ? env.endpoint : `${env.endpoint}/`}v1/${signal}`,
          headers: { ...env.headers, ...env.signalHeaders },
          timeoutMillis: Option.getOrElse(env.signalTimeout, () => env.timeout)
        })
    )
  )
}

/**
 * The sampler names of `OTEL_TRACES_SAMPLER` this SDK implements.
 *
 * @category models
 * @since 0.1.0
 */
export const samplerNames = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
] as const

/**
 * A sampler as the environment names it.
 *
 * @category models
 * @since 0.1.0
 */
export interface SamplerOptions {
  readonly name: typeof samplerNames[number]
  /** The ratio of `traceidratio` samplers, in [0, 1]. */
  readonly ratio: number
}

/**
 * `OTEL_TRACES_SAMPLER` (default `parentbased_always_on`) and
 * `OTEL_TRACES_SAMPLER_ARG` (the ratio, default 1.0); an unknown sampler or
 * a ratio outside [0, 1] fails start-up, naming the variable.
 *
 * @category configs
 * @since 0.1.0
 */
export const sampler: Config.Config<SamplerOptions> = Config.all({
  name: Config.schema(Schema.Literals(samplerNames), "OTEL_TRACES_SAMPLER").pipe(
    Config.withDefault("parentbased_always_on" as const)
  ),
  ratio: Config.schema(
    Schema.FiniteFromString.check(Schema.isBetween({ minimum: 0, maximum: 1 })),
    "OTEL_TRACES_SAMPLER_ARG"
  ).pipe(Config.withDefault(1))
})

/**
 * A batch processor's options from its `OTEL_BSP_*` (spans) or
 * `OTEL_BLRP_*` (log records) variables, with the spec's defaults: queue
 * 2048, batches of 512, export timeout 30 s, and the schedule delay given
 * (5 s for spans, 1 s for log records).
 *
 * @category configs
 * @since 0.1.0
 */
export const batchOptions = (prefix: "OTEL_BSP" | "OTEL_BLRP", scheduleDelayMillis: number) =>
  Config.all({
    maxQueueSize: positiveInt(`${prefix}_MAX_QUEUE_SIZE`, 2048),
    maxExportBatchSize: positiveInt(`${prefix}_MAX_EXPORT_BATCH_SIZE`, 512),
    scheduledDelay: Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), `${prefix}_SCHEDULE_DELAY`).pipe(
      Config.withDefault(scheduleDelayMillis)
    ),
    exportTimeout: positiveInt(`${prefix}_EXPORT_TIMEOUT`, 30_000)
  })
