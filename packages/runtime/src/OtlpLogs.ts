/**
 * OTLP logs: every Effect log line also sent as an OpenTelemetry log record
 * over OTLP/HTTP when an endpoint is configured, with the trace context of
 * the span it was written in, beside the console.
 *
 * @since 0.1.0
 */
import * as OtelLogger from "@effect/opentelemetry/OtelLogger"
import type * as Resource from "@effect/opentelemetry/Resource"
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-http"
import { BatchLogRecordProcessor } from "@opentelemetry/sdk-logs"
import { Config, Effect, Layer, Logger, Option } from "effect"
import { countFailures } from "./internal/exportFailures.ts"
import * as Logging from "./Logging.ts"
import * as OtelEnvironment from "./OtelEnvironment.ts"
import * as RuntimeConfig from "./RuntimeConfig.ts"

// The batch options, read through Config (the SDK would read process.env itself).
const batchOptions = OtelEnvironment.batchOptions("OTEL_BLRP", 1000)

/**
 * Name and description of the log export metric.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  dropped: {
    name: "apm_log_records_dropped_total",
    description: "Log records not exported, by reason: export_failed (collector error, timeout, shutdown)"
  }
} as const

/**
 * Adds `@effect/opentelemetry`'s logger to the loggers in place, sending
 * each record, its trace and span ids included, through the SDK's batch
 * processor (`OTEL_BLRP_*`: queue 2048, batches of 512, every second) to the
 * endpoint {@link OtelEnvironment.otlpExporter} derives for `logs`; nothing
 * without an endpoint, with `OTEL_LOGS_EXPORTER=none` or
 * `OTEL_SDK_DISABLED=true`. One export takes at most the exporter's timeout,
 * `OTEL_BLRP_EXPORT_TIMEOUT` and the shutdown budget, whichever is least;
 * releasing the layer exports what is queued within `APM_SHUTDOWN_TIMEOUT`.
 * A failed export loses its records, never the program: they are counted
 * in `apm_log_records_dropped_total{reason="export_failed"}` and logged at
 * Warning, once a minute. A full queue drops records uncounted (the SDK's
 * batch processor does not say).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<never, Config.ConfigError, Resource.Resource | RuntimeConfig.RuntimeConfig> = Layer
  .unwrap(
    Effect.gen(function*() {
      const exporter = yield* OtelEnvironment.otlpExporter("logs")
      if (Option.isNone(exporter)) return Layer.empty
      const { shutdownTimeout } = yield* RuntimeConfig.RuntimeConfig
      const batch = yield* batchOptions
      const flushTimeoutMillis = RuntimeConfig.flushTimeoutMillis(shutdownTimeout)
      const { headers, timeoutMillis, url } = exporter.value
      const processor = new BatchLogRecordProcessor({
        exporter: yield* countFailures(
          // The SDK's retry timers cannot be cancelled: an export that outlived the shutdown budget would keep the
          // process alive past it.
          new OTLPLogExporter({
            url,
            headers: { ...headers },
            timeoutMillis: Math.min(timeoutMillis, batch.exportTimeout, flushTimeoutMillis)
          }),
          {
            ...definitions.dropped,
            attributes: { reason: "export_failed" },
            size: (records) => records.length,
            message: (count, detail) => `Dropped ${count} log records: the collector did not take them: ${detail}`
          }
        ),
        maxQueueSize: batch.maxQueueSize,
        maxExportBatchSize: Math.min(batch.maxQueueSize, batch.maxExportBatchSize),
        scheduledDelayMillis: batch.scheduledDelay,
        exportTimeoutMillis: Math.min(batch.exportTimeout, flushTimeoutMillis)
      })
      return Logger.layer([Effect.map(OtelLogger.make, Logging.redacting)], { mergeWithExisting: true }).pipe(
        Layer.provide(OtelLogger.layerLoggerProvider(processor, { shutdownTimeout: flushTimeoutMillis }))
      )
    })
  )
