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
    description:
      "Spans not exported, by reason: queue_full, export_failed (collector error, timeout, shutdown) or too_large"
  }
} as const

const Millis = Schema.Int.check(Schema.isGreaterThan(0))
const Count = Schema.Int.check(Schema.isGreaterThan(0))
// Empty means unset, as for the SDK.
const Endpoint = Schema.String.check(
  Schema.isPattern(/^(|https?:\/\/\S+)$/, { expected: "an http:// or https:// URL" })
)
const endpoint = (name: string) => Config.schema(Endpoint, name).pipe(Config.withDefault(""))

// Read through Config (the SDK would read process.env itself), so that a bad value fails start-up naming the
// variable. Headers, compression and TLS options the SDK still reads.
const variables = Config.all({
  tracesEndpoint: endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  endpoint: endpoint("OTEL_EXPORTER_OTLP_ENDPOINT"),
  exporter: Config.String("OTEL_TRACES_EXPORTER").pipe(Config.withDefault("otlp")),
  // The signal's own variable wins over the general one, as the OTLP exporter spec says.
  tracesTimeout: Config.option(Config.schema(Millis, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")),
  timeout: Config.schema(Millis, "OTEL_EXPORTER_OTLP_TIMEOUT").pipe(Config.withDefault(10_000)),
  maxQueueSize: Config.schema(Count, "OTEL_BSP_MAX_QUEUE_SIZE").pipe(Config.withDefault(2048)),
  maxExportBatchSize: Config.schema(Count, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE").pipe(Config.withDefault(512)),
  scheduledDelay: Config.schema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), "OTEL_BSP_SCHEDULE_DELAY").pipe(
    Config.withDefault(5000)
  ),
  exportTimeout: Config.schema(Millis, "OTEL_BSP_EXPORT_TIMEOUT").pipe(Config.withDefault(30_000))
})

const messages: Record<SpanExport.DropReason, (count: number, detail: string) => string> = {
  queue_full: (count, detail) =>
    `Dropped ${count} spans: ${detail}, the collector takes them slower than the application makes them`,
  export_failed: (count, detail) => `Dropped ${count} spans: the collector did not take them: ${detail}`,
  too_large: (count, detail) => `Dropped ${count} spans too large to export even truncated: ${detail}`
}

/** The URL the OTLP/HTTP spec derives: the signal's own endpoint as it is, or the general one + `v1/traces`. */
const tracesUrl = (traces: string, general: string): string =>
  traces || `${general.endsWith("/") ? general : `${general}/`}v1/traces`

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
 * String attributes, event attributes (`exception.message`,
 * `exception.stacktrace`) and the status message are cut to
 * `APM_MAX_ATTRIBUTE_LENGTH`; a span still over 1 MiB is dropped alone.
 * Spans exported and dropped (`queue_full`, `export_failed`, `too_large`)
 * are counted on `/metrics`, and drops logged at Warning, once a minute per
 * reason.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<
  Resource.Resource,
  Config.ConfigError,
  RuntimeConfig | ApmConfig.ApmConfig
> = Layer.unwrap(
  Effect.gen(function*() {
    const { serviceName, shutdownTimeout } = yield* RuntimeConfig
    const { maxAttributeLength } = yield* ApmConfig.ApmConfig
    const env = yield* variables
    const resource = Resource.layerFromEnv(Resource.configToAttributes({ serviceName }))
    const endpoints = {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: env.tracesEndpoint,
      OTEL_EXPORTER_OTLP_ENDPOINT: env.endpoint,
      OTEL_TRACES_EXPORTER: env.exporter
    }
    if (!hasEndpoint(endpoints)) return resource
    // The process has more to release after the spans (the HTTP server, the baselines file): the flush leaves
    // it a tenth of the budget, at most 250 ms, so that the process, not only the flush, ends within it.
    const budget = Duration.toMillis(shutdownTimeout)
    const flushTimeoutMillis = budget - Math.min(budget / 10, 250)
    const provider = tracerProvider({
      url: tracesUrl(env.tracesEndpoint, env.endpoint),
      timeoutMillis: Math.min(
        Option.getOrElse(env.tracesTimeout, () => env.timeout),
        env.exportTimeout,
        flushTimeoutMillis
      ),
      processor: {
        flushTimeoutMillis,
        maxQueueSize: env.maxQueueSize,
        maxExportBatchSize: Math.min(env.maxQueueSize, env.maxExportBatchSize),
        scheduledDelayMillis: env.scheduledDelay,
        maxAttributeLength
      }
    })
    return OtelTracer.layer.pipe(Layer.provide(provider), Layer.provideMerge(resource))
  })
)
