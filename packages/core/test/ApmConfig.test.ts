import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { ApmConfig } from "../src/index.ts"

const fromEnv = (env: Record<string, string>, overrides: Partial<ApmConfig.ApmOptions> = {}) =>
  ApmConfig.fromEnvironment(overrides).pipe(
    Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
  )

const failure = (env: Record<string, string>) =>
  Effect.flip(fromEnv(env)).pipe(Effect.map((e) => (e as ApmConfig.ApmConfigError)))

describe("ApmConfig", () => {
  it.effect("has the seed's defaults", () =>
    Effect.gen(function*() {
      const options = yield* fromEnv({})
      assert.deepStrictEqual(options, ApmConfig.defaults)
      assert.strictEqual(options.enabled, true)
      assert.strictEqual(options.slowRequestThreshold, 1.0)
      assert.strictEqual(options.memoryUsageThreshold, 0.8)
      assert.strictEqual(options.cpuUsageThreshold, 0.8)
      assert.strictEqual(options.databaseQueryThreshold, 0.5)
      assert.strictEqual(options.externalApiThreshold, 2.0)
      assert.strictEqual(options.profilingSampleRate, 0.1)
      assert.strictEqual(options.memorySampleRate, 0.05)
      assert.strictEqual(options.baselineWindowSize, 100)
      assert.strictEqual(options.baselineUpdateInterval, 300)
      assert.strictEqual(options.anomalyDetectionSensitivity, 2.0)
      assert.strictEqual(options.anomalyWindowSize, 20)
      assert.strictEqual(options.debugMode, false)
      assert.strictEqual(options.maxOperations, 1000)
      for (const key of Object.keys(ApmConfig.defaults) as Array<keyof ApmConfig.ApmOptions>) {
        if (typeof ApmConfig.defaults[key] === "boolean" && key !== "debugMode") assert.isTrue(options[key])
      }
    }))

  it.effect("reads every option from its APM_* variable", () =>
    Effect.gen(function*() {
      const options = yield* fromEnv({
        APM_ENABLED: "false",
        APM_PROFILING_ENABLED: "no",
        APM_MEMORY_PROFILING_ENABLED: "0",
        APM_CPU_PROFILING_ENABLED: "off",
        APM_DATABASE_MONITORING_ENABLED: "FALSE",
        APM_EXTERNAL_API_MONITORING_ENABLED: "false",
        APM_BUSINESS_TRANSACTION_MONITORING_ENABLED: "false",
        APM_ANOMALY_DETECTION_ENABLED: "false",
        APM_BASELINE_ESTIMATION_ENABLED: "false",
        APM_SLOW_REQUEST_THRESHOLD: "2.5",
        APM_MEMORY_USAGE_THRESHOLD: "0.9",
        APM_CPU_USAGE_THRESHOLD: "0.7",
        APM_DATABASE_QUERY_THRESHOLD: "0.25",
        APM_EXTERNAL_API_THRESHOLD: "3",
        APM_PROFILING_SAMPLE_RATE: "1",
        APM_MEMORY_SAMPLE_RATE: "0",
        APM_BASELINE_WINDOW_SIZE: "50",
        APM_BASELINE_UPDATE_INTERVAL: "60",
        APM_BASELINE_MIN_SAMPLES: "5",
        APM_ERROR_RATE_THRESHOLD: "0.2",
        APM_INSIGHT_MIN_OPERATIONS: "7",
        APM_ANOMALY_DETECTION_SENSITIVITY: "3",
        APM_ANOMALY_WINDOW_SIZE: "10",
        APM_DEBUG_MODE: "true",
        APM_MAX_OPERATIONS: "200",
        APM_MAX_ATTRIBUTE_LENGTH: "512"
      })
      assert.deepStrictEqual(options, {
        enabled: false,
        profilingEnabled: false,
        memoryProfilingEnabled: false,
        cpuProfilingEnabled: false,
        databaseMonitoringEnabled: false,
        externalApiMonitoringEnabled: false,
        businessTransactionMonitoringEnabled: false,
        anomalyDetectionEnabled: false,
        baselineEstimationEnabled: false,
        slowRequestThreshold: 2.5,
        memoryUsageThreshold: 0.9,
        cpuUsageThreshold: 0.7,
        databaseQueryThreshold: 0.25,
        externalApiThreshold: 3,
        profilingSampleRate: 1,
        memorySampleRate: 0,
        baselineWindowSize: 50,
        baselineUpdateInterval: 60,
        baselineMinSamples: 5,
        errorRateThreshold: 0.2,
        insightMinOperations: 7,
        anomalyDetectionSensitivity: 3,
        anomalyWindowSize: 10,
        debugMode: true,
        maxOperations: 200,
        maxAttributeLength: 512
      })
      assert.strictEqual(Object.keys(ApmConfig.environmentVariables).length, Object.keys(options).length)
    }))

  it.effect("code overrides win over the environment", () =>
    Effect.gen(function*() {
      const options = yield* fromEnv({ APM_SLOW_REQUEST_THRESHOLD: "5" }, { slowRequestThreshold: 0.2 })
      assert.strictEqual(options.slowRequestThreshold, 0.2)
      const made = yield* ApmConfig.make({ debugMode: true })
      assert.strictEqual(made.debugMode, true)
      assert.strictEqual(made.baselineWindowSize, 100)
    }))

  it.effect("the attribute bound falls back to OpenTelemetry's OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* fromEnv({})).maxAttributeLength, 4096)
      assert.strictEqual((yield* fromEnv({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "300" })).maxAttributeLength, 300)
      const both = yield* fromEnv({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "300", APM_MAX_ATTRIBUTE_LENGTH: "100" })
      assert.strictEqual(both.maxAttributeLength, 100)
      const error = yield* failure({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "lots" })
      assert.strictEqual(error.source, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT")
    }))

  const cases: ReadonlyArray<[string, string, string, string]> = [
    ["not a number", "APM_SLOW_REQUEST_THRESHOLD", "fast", "a number of seconds greater than 0"],
    ["blank", "APM_EXTERNAL_API_THRESHOLD", " ", "a number of seconds greater than 0"],
    ["negative", "APM_DATABASE_QUERY_THRESHOLD", "-0.5", "a number of seconds greater than 0"],
    ["zero duration", "APM_BASELINE_UPDATE_INTERVAL", "0", "a number of seconds greater than 0"],
    ["rate above 1", "APM_PROFILING_SAMPLE_RATE", "1.5", "a number between 0 and 1"],
    ["usage above 1", "APM_MEMORY_USAGE_THRESHOLD", "80", "a number between 0 and 1"],
    ["not a boolean", "APM_ENABLED", "maybe", "a boolean: true/false, yes/no, on/off or 1/0"],
    ["window of 0", "APM_BASELINE_WINDOW_SIZE", "0", "a whole number greater than 0"],
    ["window of 2.5", "APM_ANOMALY_WINDOW_SIZE", "2.5", "a whole number greater than 0"],
    ["infinite", "APM_MAX_OPERATIONS", "Infinity", "a whole number greater than 0"]
  ]
  for (const [label, variable, value, expected] of cases) {
    it.effect(`a bad value (${label}) names the variable, the value and what was expected`, () =>
      Effect.gen(function*() {
        const error = yield* failure({ [variable]: value })
        assert.strictEqual(error._tag, "ApmConfigError")
        assert.strictEqual(error.source, variable)
        assert.strictEqual(error.value, value)
        assert.strictEqual(error.expected, expected)
        assert.include(error.message, variable)
        assert.include(error.message, JSON.stringify(value))
        assert.include(error.message, expected)
      }))
  }

  it.effect("bad overrides in code name the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ApmConfig.make({ memorySampleRate: 2 }))
      assert.strictEqual(error.source, "memorySampleRate")
      assert.strictEqual(error.value, "2")
    }))
})
