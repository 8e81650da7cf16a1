/**
 * Span export: the OpenTelemetry Node SDK with a batch processor and the
 * OTLP/HTTP exporter, configured by the standard `OTEL_*` variables.
 *
 * @since 0.1.0
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { RuntimeConfig } from "./RuntimeConfig.ts"

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
 * Exports spans over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the
 * traces-specific variable) is set; without an endpoint nothing is exported
 * and Effect's own tracer stays in place. Releasing the layer flushes the
 * batch, so a clean shutdown loses no span.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<Resource.Resource, never, RuntimeConfig> = Layer.unwrap(
  Effect.map(RuntimeConfig, ({ serviceName }) =>
    NodeSdk.layer(() => ({
      resource: { serviceName },
      spanProcessor: hasEndpoint(process.env) ? new BatchSpanProcessor(new OTLPTraceExporter()) : undefined
    })))
)
