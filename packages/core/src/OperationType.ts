/**
 * The kinds of operation mcp-apm traces. The set is closed so that the
 * `operation_type` metric label stays bounded.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Tracer } from "effect"
import type { ApmOptions } from "./ApmConfig.ts"

/**
 * The generic kinds of the seed, then one per MCP service.
 *
 * @category models
 * @since 0.1.0
 */
export const operationTypes = [
  "http_request",
  "database_query",
  "external_api",
  "business_transaction",
  "custom_operation",
  "model_request",
  "plan_operation",
  "git_operation",
  "workflow_operation",
  "verification_operation"
] as const

/**
 * @category schemas
 * @since 0.1.0
 */
export const OperationType = Schema.Literals(operationTypes)

/**
 * @category models
 * @since 0.1.0
 */
export type OperationType = typeof OperationType.Type

/**
 * The duration, in seconds, over which an operation of `type` counts as slow:
 * database queries and external APIs have thresholds of their own.
 *
 * @category thresholds
 * @since 0.1.0
 */
export const slowThreshold = (options: ApmOptions, type: OperationType): number =>
  type === "database_query"
    ? options.databaseQueryThreshold
    : type === "external_api"
    ? options.externalApiThreshold
    : options.slowRequestThreshold

/**
 * The OpenTelemetry span kind of an operation of `type`: `server` for an
 * HTTP request served, `client` for a call that leaves the process (a
 * database query, an external API, a GenAI model request), `internal` for
 * everything else.
 *
 * @category span kinds
 * @since 0.1.0
 */
export const spanKind = (type: OperationType): Tracer.SpanKind =>
  type === "http_request"
    ? "server"
    : type === "database_query" || type === "external_api" || type === "model_request"
    ? "client"
    : "internal"
