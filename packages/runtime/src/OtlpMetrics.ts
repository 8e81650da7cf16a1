/**
 * OTLP metrics beside `/metrics`: every Effect metric of the process (the
 * apm, service and runtime ones) exported periodically over OTLP/HTTP when
 * an endpoint is configured.
 *
 * @since 0.1.0
 */
import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics"
import type * as Resource from "@effect/opentelemetry/Resource"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { Config, Effect, Layer, Option } from "effect"
import { countFailures } from "./internal/exportFailures.ts"
import * as OtelEnvironment from "./OtelEnvironment.ts"
import * as RuntimeConfig from "./RuntimeConfig.ts"

/**
 * Name and description of the metric export metric.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  failed: {
    name: "apm_metric_exports_failed_total",
    description: "OTLP metric exports the collector did not take (collector error, timeout, shutdown)"
  }
} as const

/**
 * Exports the metrics every `OTEL_METRIC_EXPORT_INTERVAL` (60 s, the spec's
 * default), each export within `OTEL_METRIC_EXPORT_TIMEOUT` (30 s, at most
 * the interval) and the exporter's timeout, to the endpoint
 * {@link OtelEnvironment.otlpExporter} derives for `metrics`; nothing
 * without an endpoint, with `OTEL_METRICS_EXPORTER=none` or
 * `OTEL_SDK_DISABLED=true`. Values are cumulative, as on `/metrics`.
 * Releasing the layer exports once more, within `APM_SHUTDOWN_TIMEOUT`. A
 * failed export never fails the program: it is counted in
 * `apm_metric_exports_failed_total`, logged at Warning once a minute, and
 * the next export carries the cumulative values again.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<never, Config.ConfigError, Resource.Resource | RuntimeConfig.RuntimeConfig> = Layer
  .unwrap(
    Effect.gen(function*() {
      const exporter = yield* OtelEnvironment.otlpExporter("metrics")
      if (Option.isNone(exporter)) return Layer.empty
      const { shutdownTimeout } = yield* RuntimeConfig.RuntimeConfig
      const interval = yield* OtelEnvironment.positiveInt("OTEL_METRIC_EXPORT_INTERVAL", 60_000)
      const timeout = yield* OtelEnvironment.positiveInt("OTEL_METRIC_EXPORT_TIMEOUT", 30_000)
      const flushTimeoutMillis = RuntimeConfig.flushTimeoutMillis(shutdownTimeout)
      const { headers, timeoutMillis, url } = exporter.value
      const otlpExporter = yield* countFailures(
        // The SDK's retry timers cannot be cancelled: an export that outlived the shutdown budget would keep the
        // process alive past it.
        new OTLPMetricExporter({
          url,
          headers: { ...headers },
          timeoutMillis: Math.min(timeoutMillis, flushTimeoutMillis)
        }),
        {
          ...definitions.failed,
          size: () => 1,
          message: (count, detail) => `${count} metric export failed: the collector did not take it: ${detail}`
        }
      )
      return OtelMetrics.layer(
        () =>
          new PeriodicExportingMetricReader({
            exporter: otlpExporter,
            exportIntervalMillis: interval,
            // The SDK refuses a timeout longer than the interval.
            exportTimeoutMillis: Math.min(timeout, interval)
          }),
        { shutdownTimeout: flushTimeoutMillis }
      )
    })
  )
