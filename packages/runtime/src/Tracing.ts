/**
 * Span export: the OpenTelemetry Node SDK's tracer provider, `SpanExport`'s
 * processor and the OTLP/HTTP exporter, configured by the standard `OTEL_*`
 * variables, with what the collector does not take counted on `/metrics`.
 *
 * @since 0.1.0
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import * as Resource from "@effect/opentelemetry/Resource"
import { ApmConfig, RateLimitedLog, ReadOnlyMetric, Redaction } from "@mcp-apm/core"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { resourceFromAttributes } from "@opentelemetry/resources"
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler
} from "@opentelemetry/sdk-trace-base"
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions"
import { Config, Effect, Layer, Metric, Option } from "effect"
import * as OtelEnvironment from "./OtelEnvironment.ts"
import * as OtelSpanTracer from "./OtelSpanTracer.ts"
import * as RuntimeConfig from "./RuntimeConfig.ts"
import * as SpanExport from "./SpanExport.ts"

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

// The batch options, read through Config (the SDK would read process.env itself). The exporter's compression and
// TLS options the SDK still reads.
const batchOptions = OtelEnvironment.batchOptions("OTEL_BSP", 5000)

const messages: Record<SpanExport.DropReason, (count: number, detail: string) => string> = {
  queue_full: (count, detail) =>
    `Dropped ${count} spans: ${detail}, the collector takes them slower than the application makes them`,
  export_failed: (count, detail) => `Dropped ${count} spans: the collector did not take them: ${detail}`,
  too_large: (count, detail) => `Dropped ${count} spans too large to export even truncated: ${detail}`
}

const samplerOf = ({ name, ratio }: OtelEnvironment.SamplerOptions): Sampler => {
  const root = name.endsWith("always_off")
    ? new AlwaysOffSampler()
    : name.endsWith("traceidratio")
    ? new TraceIdRatioBasedSampler(ratio)
    : new AlwaysOnSampler()
  return name.startsWith("parentbased_") ? new ParentBasedSampler({ root }) : root
}

const tracerProvider = (options: {
  readonly exporter: OtelEnvironment.OtlpExporterOptions
  readonly sampler: Sampler
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
        exporter: (timeoutMillis) =>
          new OTLPTraceExporter({ url: options.exporter.url, headers: { ...options.exporter.headers }, timeoutMillis }),
        exportTimeoutMillis: options.exporter.timeoutMillis,
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
            sampler: options.sampler,
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
 * traces-specific variable) is set; without an endpoint, with
 * `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true` nothing is
 * exported and Effect's own tracer stays in place (see
 * {@link OtelEnvironment.otlpExporter} for the endpoint, headers and
 * timeout). `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` pick the
 * sampler (`parentbased_always_on` by default).
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
  RuntimeConfig.RuntimeConfig | ApmConfig.ApmConfig
> = Layer.unwrap(
  Effect.gen(function*() {
    const { shutdownTimeout } = yield* RuntimeConfig.RuntimeConfig
    const { maxAttributeLength } = yield* ApmConfig.ApmConfig
    const exporter = yield* OtelEnvironment.otlpExporter("traces")
    if (Option.isNone(exporter)) return layerResource
    const batch = yield* batchOptions
    const flushTimeoutMillis = RuntimeConfig.flushTimeoutMillis(shutdownTimeout)
    const provider = tracerProvider({
      exporter: {
        ...exporter.value,
        timeoutMillis: Math.min(exporter.value.timeoutMillis, batch.exportTimeout, flushTimeoutMillis)
      },
      sampler: samplerOf(yield* OtelEnvironment.sampler),
      processor: {
        flushTimeoutMillis,
        maxQueueSize: batch.maxQueueSize,
        maxExportBatchSize: Math.min(batch.maxQueueSize, batch.maxExportBatchSize),
        scheduledDelayMillis: batch.scheduledDelay,
        redaction: yield* Redaction.config,
        maxAttributeLength
      }
    })
    return OtelSpanTracer.layer.pipe(Layer.provide(provider), Layer.provideMerge(layerResource))
  })
)

/**
 * The resource every signal is exported under: `OTEL_SERVICE_NAME`, then
 * `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, then `RuntimeConfig`'s
 * service name, as the spec orders them; the other attributes of
 * `OTEL_RESOURCE_ATTRIBUTES` and the SDK's own.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerResource: Layer.Layer<Resource.Resource, never, RuntimeConfig.RuntimeConfig> = Layer.effect(
  Resource.Resource,
  Effect.gen(function*() {
    const { serviceName } = yield* RuntimeConfig.RuntimeConfig
    const fromEnvironment = yield* Resource.Resource
    return resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }).merge(fromEnvironment)
  })
).pipe(Layer.provide(Resource.layerFromEnv()))

/**
 * Spans go to a tracer provider the application already has, instead of an
 * SDK of the APM's own: the `OtelTracerProvider` in context if one is, else
 * the provider registered with `@opentelemetry/api`
 * (`trace.getTracerProvider()`, set by the application's `NodeSdk`,
 * Sentry or auto-instrumentations). Its sampling, processors and exporters
 * decide; the `OTEL_*` trace variables and `apm_spans_*_total` are theirs.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerExistingProvider: Layer.Layer<Resource.Resource, never, RuntimeConfig.RuntimeConfig> = Layer.unwrap(
  Effect.map(
    Effect.serviceOption(OtelTracer.OtelTracerProvider),
    Option.match({
      onNone: () => OtelSpanTracer.layer.pipe(Layer.provide(OtelTracer.layerGlobalProvider)),
      onSome: (provider) =>
        OtelSpanTracer.layer.pipe(Layer.provide(Layer.succeed(OtelTracer.OtelTracerProvider, provider)))
    })
  )
).pipe(Layer.provideMerge(layerResource))
