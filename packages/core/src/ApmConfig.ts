/**
 * Every option of mcp-apm, validated with `effect/Schema`, loaded from `APM_*`
 * environment variables or built in code from partial overrides.
 *
 * A bad value fails start-up with one `ApmConfigError` that names the variable
 * (or field), the value given and what was expected: a monitoring library that
 * silently falls back to a default hides the very misconfiguration an SRE is
 * looking for.
 *
 * @since 0.1.0
 */
import { Config, Context, Effect, Layer, Option, Schema } from "effect"

const Switch = Schema.Boolean
const Seconds = Schema.Finite.check(Schema.isGreaterThan(0))
const Fraction = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const Count = Schema.Finite.check(Schema.isInt(), Schema.isGreaterThan(0))

type Kind = "switch" | "seconds" | "fraction" | "positive" | "count"

const schemaOf = { switch: Switch, seconds: Seconds, fraction: Fraction, positive: Positive, count: Count } as const

const expectedOf: Record<Kind, string> = {
  switch: "a boolean: true/false, yes/no, on/off or 1/0",
  seconds: "a number of seconds greater than 0",
  fraction: "a number between 0 and 1",
  positive: "a number greater than 0",
  count: "a whole number greater than 0"
}

/**
 * Each option's kind, environment variable and default. The variables are the
 * seed's names, and every option the seed did not name follows the same style.
 */
const options = {
  enabled: { kind: "switch", env: "APM_ENABLED", default: true },
  profilingEnabled: { kind: "switch", env: "APM_PROFILING_ENABLED", default: true },
  memoryProfilingEnabled: { kind: "switch", env: "APM_MEMORY_PROFILING_ENABLED", default: true },
  cpuProfilingEnabled: { kind: "switch", env: "APM_CPU_PROFILING_ENABLED", default: true },
  databaseMonitoringEnabled: { kind: "switch", env: "APM_DATABASE_MONITORING_ENABLED", default: true },
  externalApiMonitoringEnabled: { kind: "switch", env: "APM_EXTERNAL_API_MONITORING_ENABLED", default: true },
  businessTransactionMonitoringEnabled: {
    kind: "switch",
    env: "APM_BUSINESS_TRANSACTION_MONITORING_ENABLED",
    default: true
  },
  anomalyDetectionEnabled: { kind: "switch", env: "APM_ANOMALY_DETECTION_ENABLED", default: true },
  baselineEstimationEnabled: { kind: "switch", env: "APM_BASELINE_ESTIMATION_ENABLED", default: true },
  slowRequestThreshold: { kind: "seconds", env: "APM_SLOW_REQUEST_THRESHOLD", default: 1.0 },
  memoryUsageThreshold: { kind: "fraction", env: "APM_MEMORY_USAGE_THRESHOLD", default: 0.8 },
  cpuUsageThreshold: { kind: "fraction", env: "APM_CPU_USAGE_THRESHOLD", default: 0.8 },
  databaseQueryThreshold: { kind: "seconds", env: "APM_DATABASE_QUERY_THRESHOLD", default: 0.5 },
  externalApiThreshold: { kind: "seconds", env: "APM_EXTERNAL_API_THRESHOLD", default: 2.0 },
  profilingSampleRate: { kind: "fraction", env: "APM_PROFILING_SAMPLE_RATE", default: 0.1 },
  memorySampleRate: { kind: "fraction", env: "APM_MEMORY_SAMPLE_RATE", default: 0.05 },
  baselineWindowSize: { kind: "count", env: "APM_BASELINE_WINDOW_SIZE", default: 100 },
  baselineUpdateInterval: { kind: "seconds", env: "APM_BASELINE_UPDATE_INTERVAL", default: 300 },
  baselineMinSamples: { kind: "count", env: "APM_BASELINE_MIN_SAMPLES", default: 30 },
  anomalyDetectionSensitivity: { kind: "positive", env: "APM_ANOMALY_DETECTION_SENSITIVITY", default: 2.0 },
  anomalyWindowSize: { kind: "count", env: "APM_ANOMALY_WINDOW_SIZE", default: 20 },
  errorRateThreshold: { kind: "fraction", env: "APM_ERROR_RATE_THRESHOLD", default: 0.05 },
  insightMinOperations: { kind: "count", env: "APM_INSIGHT_MIN_OPERATIONS", default: 20 },
  debugMode: { kind: "switch", env: "APM_DEBUG_MODE", default: false },
  maxOperations: { kind: "count", env: "APM_MAX_OPERATIONS", default: 1000 },
  // OpenTelemetry's attribute limit is the fallback, so one setting bounds both the APM's records and the SDK's spans.
  maxAttributeLength: {
    kind: "count",
    env: "APM_MAX_ATTRIBUTE_LENGTH",
    fallbackEnv: "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    default: 4096
  }
} as const satisfies Record<string, { kind: Kind; env: string; fallbackEnv?: string; default: boolean | number }>

type Options = typeof options
type ValueOf<K extends keyof Options> = Options[K]["kind"] extends "switch" ? boolean : number

/**
 * The validated configuration. Durations are in seconds, rates and usage
 * thresholds are fractions in [0, 1].
 *
 * @category models
 * @since 0.1.0
 */
export type ApmOptions = { readonly [K in keyof Options]: ValueOf<K> }

/**
 * The seed's defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaults: ApmOptions = Object.fromEntries(
  Object.entries(options).map(([key, option]) => [key, option.default])
) as unknown as ApmOptions

/**
 * The environment variable that sets each option.
 *
 * @category models
 * @since 0.1.0
 */
export const environmentVariables: { readonly [K in keyof Options]: Options[K]["env"] } = Object.fromEntries(
  Object.entries(options).map(([key, option]) => [key, option.env])
) as never

/**
 * A configuration value that does not fit. `source` is the environment
 * variable, or the field name when the configuration was built in code.
 *
 * @category errors
 * @since 0.1.0
 */
export class ApmConfigError extends Schema.TaggedError<ApmConfigError>()("ApmConfigError", {
  source: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `Invalid ${this.source}=${JSON.stringify(this.value)}: expected ${this.expected}`
  }
}

const trueWords = new Set(["true", "yes", "on", "1", "y"])
const falseWords = new Set(["false", "no", "off", "0", "n"])

const parseWord = (kind: Kind, raw: string): unknown => {
  const text = raw.trim()
  if (kind === "switch") {
    const word = text.toLowerCase()
    return trueWords.has(word) ? true : falseWords.has(word) ? false : raw
  }
  // Number("") is 0 and Number(" ") is 0: an empty variable is not a zero.
  return text === "" ? raw : Number(text)
}

const check = <K extends keyof Options>(key: K, value: unknown, source: string, shown: string) => {
  const kind: Kind = options[key].kind
  return Schema.decodeUnknownOption(schemaOf[kind])(value).pipe(
    Option.match({
      onNone: () => Effect.fail(new ApmConfigError({ source, value: shown, expected: expectedOf[kind] })),
      onSome: (decoded) => Effect.succeed(decoded)
    })
  )
}

const keys = Object.keys(options) as ReadonlyArray<keyof Options>

/**
 * Validates a configuration built in code: the defaults with `overrides`
 * applied.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (overrides: Partial<ApmOptions> = {}): Effect.Effect<ApmOptions, ApmConfigError> =>
  Effect.forEach(keys, (key) => {
    const value = overrides[key] ?? options[key].default
    return check(key, value, key, String(value))
  }).pipe(Effect.map(toOptions))

const toOptions = (values: ReadonlyArray<unknown>): ApmOptions =>
  Object.fromEntries(keys.map((key, i) => [key, values[i]])) as unknown as ApmOptions

/**
 * Reads every `APM_*` variable through Effect's `ConfigProvider` (the process
 * environment by default), falling back to the defaults, then `overrides`
 * (values set in code win over the environment).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromEnvironment = (
  overrides: Partial<ApmOptions> = {}
): Effect.Effect<ApmOptions, ApmConfigError | Config.ConfigError> =>
  Effect.forEach(keys, (key) => {
    const option = options[key]
    const given = overrides[key]
    if (given !== undefined) return check(key, given, key, String(given))
    const fallback = "fallbackEnv" in option ? option.fallbackEnv : undefined
    return Effect.flatMap(
      Effect.zip(
        Config.option(Config.String(option.env)),
        fallback === undefined ? Effect.succeedNone : Config.option(Config.String(fallback))
      ),
      ([primary, secondary]) => {
        const [source, raw] = Option.isSome(primary)
          ? [option.env, primary]
          : [fallback ?? option.env, secondary]
        return Option.match(raw, {
          onNone: () => Effect.succeed<unknown>(option.default),
          onSome: (raw) => check(key, parseWord(option.kind, raw), source, raw)
        })
      }
    )
  }).pipe(Effect.map(toOptions))

/**
 * The configuration service.
 *
 * @category services
 * @since 0.1.0
 */
export class ApmConfig extends Context.Service<ApmConfig, ApmOptions>()("@mcp-apm/core/ApmConfig") {
  /** The defaults with `overrides` applied, validated. */
  static readonly layer = (overrides: Partial<ApmOptions> = {}): Layer.Layer<ApmConfig, ApmConfigError> =>
    Layer.effect(ApmConfig, make(overrides))

  /** The `APM_*` environment variables, then `overrides`, validated. */
  static readonly layerFromEnvironment = (
    overrides: Partial<ApmOptions> = {}
  ): Layer.Layer<ApmConfig, ApmConfigError | Config.ConfigError> => Layer.effect(ApmConfig, fromEnvironment(overrides))
}
