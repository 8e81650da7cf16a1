/**
 * Span export: the OpenTelemetry Node SDK's tracer provider, `SpanExport`'s
 * processor and the OTLP/HTTP exporter, configured by the standard `OTEL_*`
 * variables, with what the collector does not take counted on `/metrics`.
 *
 * @since 0.1.0
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import * as Resource from "@effect/opentelemetry/Resource"
import { ApmConfig, RateLimitedLog, ReadOnlyMetric } from "@mcp-apm/core"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { Config, Duration, Effect, Layer, Metric, Option, Schema } from "effect"
import { RuntimeConfig } from "./RuntimeConfig.ts"
import * as SpanExport from "./SpanExport.ts"

/**
 * Whether the environment names an OTLP endpoint for traces.
 *
 * @category predicates
 * @since 0.1.0
 */
export const hasEndpoint = (env: Record<string, string | undefined>): boolean =>
  Boolean(env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] || env["OTEL_EXPORTER_OTLP_ENDPOINT"]) &&
  env["OTEL_TRACES_EXPORTER"] !== "none"

/**
 * Name and description of the export metrics.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  exported: { name: "apm_spans_exported_total", description: "Spans the OTLP collector accepted" },
  dropped: {
    name: "apm_spans_dropped_total",
    description: "Spans not exported, by reason: queue_full, export_failed (collector error, timeout, shutdown) or too_large"
  }
} as const

const Positive = Schema.Int.check(Schema.isGreaterThan(0))
const positive = (name: string) => Config.option(Config.schema(Positive, name))

// Read through Config (the SDK would read process.env itself), so a bad value fails start-up naming the variable
// and tests can set them with a ConfigProvider. Headers and TLS options the SDK still reads.
const variables = Config.all({
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Config.option(Config.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
  OTEL_EXPORTER_OTLP_ENDPOINT: Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT")),
  OTEL_TRACES_EXPORTER: Config.option(Config.String("OTEL_TRACES_EXPORTER")),
  tracesTimeout: positive("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"),
  timeout: positive("OTEL_EXPORTER_OTLP_TIMEOUT"),
  maxQueueSize: positive("OTEL_BSP_MAX_QUEUE_SIZE"),
  maxExportBatchSize: positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
  scheduledDelay: positive("OTEL_BSP_SCHEDULE_DELAY"),
  exportTimeout: positive("OTEL_BSP_EXPORT_TIMEOUT")
})

const messages: Record<SpanExport.DropReason, (count: number, detail: string) => string> = {
  queue_full: (count, detail) =>
    `Dropped ${count} spans: ${detail}, the collector takes them slower than the application makes them`,
  export_failed: (count, detail) => `Dropped ${count} spans: the collector did not take them: ${detail}`,
  too_large: (count, detail) => `Dropped ${count} spans too large to export even truncated: ${detail}`
}

/** The traces URL the OTLP/HTTP spec derives from the variables: the signal's own as is, the general one + `v1/traces`. */
const tracesUrl = (traces: string | undefined, general: string | undefined): string =>
  traces || `${general!.endsWith("/") ? general : `${general}/`}v1/traces`

const tracerProvider = (options: {
  readonly url: string
  readonly timeoutMillis: number
  readonly processor: Omit<SpanExport.Options, "exporter" | "exportTimeoutMillis" | "onDropped">
}) =>
  Layer.effect(
    OtelTracer.OtelTracerProvider,
    Effect.gen(function*() {
      const resource = yield* Resource.Resource
      const context = yield* Effect.context<never>()
      const log = RateLimitedLog.make({ interval: "1 minute" })
      const processor = SpanExport.make({
        ...options.processor,
        exporter: (timeoutMillis) => new OTLPTraceExporter({ url: options.url, timeoutMillis }),
        exportTimeoutMillis: options.timeoutMillis,
        onDropped: (reason, count, detail) => {
          Effect.runForkWith(context)(
            log.warn(`span-export/${reason}`, messages[reason](count, detail), { reason, spans: count })
          )
        }
      })
      // Left registered after shutdown: the final counts are what a last scrape or metrics flush should see.
      ReadOnlyMetric.registerCounter(
        Metric.counter(definitions.exported.name, { description: definitions.exported.description, incremental: true }),
        context,
        processor.exported
      )
      for (const reason of SpanExport.dropReasons) {
        ReadOnlyMetric.registerCounter(
          Metric.counter(definitions.dropped.name, {
            description: definitions.dropped.description,
            incremental: true,
            attributes: { reason }
          }),
          context,
          () => processor.dropped(reason)
        )
      }
      return yield* Effect.acquireRelease(
        Effect.sync(() =>
          new NodeTracerProvider({
            resource,
            spanLimits: { attributeValueLengthLimit: options.processor.maxAttributeLength },
            spanProcessors: [processor]
          })
        ),
        // The processor's shutdown ends by the shutdown timeout and never rejects.
        (provider) => Effect.promise(() => provider.shutdown())
      )
    })
  )

/**
 * Exports spans over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the
 * traces-specific variable) is set; without an endpoint nothing is exported
 * and Effect's own tracer stays in place.
 *
 * The batch options are the SDK's `OTEL_BSP_*` (queue 2048 spans, batches of
 * 512, every 5 s). One export, retries included, takes at most
 * `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT` (10 s),
 * `OTEL_BSP_EXPORT_TIMEOUT` and `APM_SHUTDOWN_TIMEOUT`, whichever is least:
 * the SDK's retry timers cannot be cancelled, so an export that could
 * outlive the shutdown timeout would keep the process alive past it.
 * Releasing the layer exports what is queued and returns within
 * `APM_SHUTDOWN_TIMEOUT`, whatever the collector does; no export error ever
 * fails the program.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Resource.Resource, Config.ConfigError, RuntimeConfig | ApmConfig.ApmConfig> = Layer
  .unwrap(
    Effect.gen(function*() {
      const { serviceName, shutdownTimeout } = yield* RuntimeConfig
      const { maxAttributeLength } = yield* ApmConfig.ApmConfig
      const env = yield* variables
      const resource = Resource.layerFromEnv(Resource.configToAttributes({ serviceName }))
      const endpoints = {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Option.getOrUndefined(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
        OTEL_EXPORTER_OTLP_ENDPOINT: Option.getOrUndefined(env.OTEL_EXPORTER_OTLP_ENDPOINT),
        OTEL_TRACES_EXPORTER: Option.getOrUndefined(env.OTEL_TRACES_EXPORTER)
      }
      if (!hasEndpoint(endpoints)) return resource
      // The process has more to release after the spans (the HTTP server, the baselines file): the flush leaves
      // it a tenth of the budget, at most 250 ms, so that the process, not only the flush, ends within it.
      const budget = Duration.toMillis(shutdownTimeout)
      const shutdownTimeoutMillis = budget - Math.min(budget / 10, 250)
      const maxQueueSize = Option.getOrElse(env.maxQueueSize, () => 2048)
      const provider = tracerProvider({
        url: tracesUrl(endpoints.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, endpoints.OTEL_EXPORTER_OTLP_ENDPOINT),
        timeoutMillis: Math.min(
          Option.getOrElse(Option.orElse(env.tracesTimeout, () => env.timeout), () => 10_000),
          Option.getOrElse(env.exportTimeout, () => 30_000),
          shutdownTimeoutMillis
        ),
        processor: {
          shutdownTimeoutMillis,
          maxQueueSize,
          maxExportBatchSize: Math.min(maxQueueSize, Option.getOrElse(env.maxExportBatchSize, () => 512)),
          scheduledDelayMillis: Option.getOrElse(env.scheduledDelay, () => 5000),
          maxAttributeLength
        }
      })
      return OtelTracer.layer.pipe(Layer.provide(provider), Layer.provideMerge(resource))
    })
  )
