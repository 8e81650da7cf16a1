/**
 * The core metrics of mcp-apm. Their names, labels and descriptions are part
 * of the contract: dashboards and alert rules in `monitoring/` are generated
 * from these definitions.
 *
 * @since 0.1.0
 */
import { Metric } from "effect"
import type { OperationType } from "./OperationType.ts"

/**
 * Histogram buckets in seconds, from 1 ms to 60 s.
 *
 * @category constants
 * @since 0.1.0
 */
export const durationBuckets: ReadonlyArray<number> = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60
]

/**
 * Name and description of each core metric.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  operations: { name: "apm_operations_total", description: "Operations finished, by operation and type" },
  errors: {
    name: "apm_errors_total",
    description:
      "Operations that ended in a typed error or a defect, by operation, type and error_type (the error's _tag or class name, _OTHER past a cap)"
  },
  slow: {
    name: "apm_slow_operations_total",
    description: "Operations slower than the slow threshold of their type, by operation and type"
  },
  duration: { name: "apm_operation_duration_seconds", description: "Duration of operations in seconds" },
  active: { name: "apm_active_operations", description: "Operations in flight, by operation and type" },
  memory: {
    name: "apm_memory_usage_bytes",
    description:
      "Per-operation delta of the process's resident set size (rss, bytes): rss at the end minus rss at the start of each sampled operation, so it can be negative; not the process's memory in use"
  },
  cpu: {
    name: "apm_cpu_usage_percent",
    description:
      "Per-operation CPU use: the CPU time the process probe counted during each sampled operation (in Node, the thread that ran it) over the operation's wall time, in percent of one core (100 = one core busy throughout); not the process's CPU use"
  },
  resource: { name: "apm_resource_usage", description: "Current process and machine resource readings, by resource" },
  anomalies: {
    name: "apm_anomalies_total",
    description:
      "Anomaly records raised (one per ongoing anomaly, again at each severity it escalates to), by operation, type and severity"
  }
} as const

/**
 * The metrics of one operation, with its labels bound once so that the hot
 * path does not merge attributes on every update.
 *
 * @category models
 * @since 0.1.0
 */
export interface OperationMetrics {
  readonly operations: Metric.Counter<number>
  /** The errors of one `error.type`, labelled `error_type`. */
  readonly errors: (errorType: string) => Metric.Counter<number>
  readonly slow: Metric.Counter<number>
  readonly duration: Metric.Histogram<number>
  readonly active: Metric.Gauge<number>
}

/**
 * @category constructors
 * @since 0.1.0
 */
export const operationMetrics = (operationName: string, operationType: OperationType): OperationMetrics => {
  const attributes = { operation_name: operationName, operation_type: operationType }
  const counter = (d: { readonly name: string; readonly description: string }) =>
    Metric.counter(d.name, { description: d.description, attributes, incremental: true })
  return {
    operations: counter(definitions.operations),
    errors: (errorType) =>
      Metric.counter(definitions.errors.name, {
        description: definitions.errors.description,
        attributes: { ...attributes, error_type: errorType },
        incremental: true
      }),
    slow: counter(definitions.slow),
    duration: Metric.histogram(definitions.duration.name, {
      description: definitions.duration.description,
      attributes,
      boundaries: durationBuckets
    }),
    active: Metric.gauge(definitions.active.name, { description: definitions.active.description, attributes })
  }
}
