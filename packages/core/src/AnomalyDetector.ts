/**
 * Streaming anomaly detection over every operation's durations. Each
 * finished operation is scored by its own `StreamingDetector` (see that
 * module for the statistics and why); flagged ones become `Anomaly` records.
 * One ongoing anomaly is one record with a count, not one record per sample:
 * an SRE paged once per incident keeps trusting the pager.
 *
 * Each anomalous operation marks its own span with `apm.anomaly.score` and
 * `apm.anomaly.severity`, and the one that opens a record adds an
 * `apm.anomaly` span event, so that a collector's tail-sampling policy can
 * keep exactly those traces.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Metric, Schema } from "effect"
import type { Tracer } from "effect"
import type { Mutable } from "effect/Types"
import { ApmConfig } from "./ApmConfig.ts"
import type { ApmOptions } from "./ApmConfig.ts"
import { definitions } from "./ApmMetrics.ts"
import { BaselineStore } from "./BaselineStore.ts"
import { registerCounter } from "./ReadOnlyMetric.ts"
import type { BaselineStoreService } from "./BaselineStore.ts"
import { OperationType, operationTypes } from "./OperationType.ts"
import type { PerformanceMetrics } from "./PerformanceMetrics.ts"
import { AnomalyKind } from "./AnomalyKind.ts"
import { Severity, severityRank } from "./Severity.ts"
import { AnomalyEpisodes, StreamingDetector } from "./StreamingDetector.ts"

/**
 * One anomaly: a single spike or a sustained shift of one operation's
 * durations. `duration` is the worst sample of the episode (seconds),
 * `baselineMean` and `baselineStddev` what it was judged against (the
 * operation's baseline when it has one), times are epoch milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export const Anomaly = Schema.Struct({
  operationName: Schema.String,
  operationType: OperationType,
  duration: Schema.Finite,
  baselineMean: Schema.Finite,
  baselineStddev: Schema.Finite,
  zScore: Schema.Finite,
  score: Schema.Finite,
  severity: Severity,
  kind: AnomalyKind,
  firstSeen: Schema.Finite,
  lastSeen: Schema.Finite,
  count: Schema.Int
})

/**
 * @category models
 * @since 0.1.0
 */
export type Anomaly = typeof Anomaly.Type

/**
 * A sample is only an anomaly if it is also at least this much slower (in
 * seconds) than what it was judged against: for an operation that takes
 * microseconds, a relative jump of a fraction of a millisecond is timer and
 * scheduler noise, not an incident anyone should be told about.
 *
 * @category constants
 * @since 0.1.0
 */
export const minimumDeviation = 0.001

/**
 * How many anomaly records are kept, newest first.
 *
 * @category constants
 * @since 0.1.0
 */
export const historySize = 1000

/**
 * The span attributes an anomalous operation's span carries.
 *
 * @category constants
 * @since 0.1.0
 */
export const spanAttributes = {
  score: "apm.anomaly.score",
  severity: "apm.anomaly.severity"
} as const

/**
 * The name of the span event that marks where an anomaly record opened.
 *
 * @category constants
 * @since 0.1.0
 */
export const anomalyEvent = "apm.anomaly"

/**
 * @category models
 * @since 0.1.0
 */
export interface AnomalyDetectorService {
  /** Scores a finished operation and marks its `span` if anomalous; cheap, called on every operation. */
  readonly observe: (
    record: PerformanceMetrics,
    context: Context.Context<never>,
    span: Tracer.Span | undefined
  ) => void
  /** The newest `count` anomaly records, newest first. */
  readonly recentAnomalies: (count: number) => Effect.Effect<ReadonlyArray<Anomaly>>
}

/**
 * @category services
 * @since 0.1.0
 */
export class AnomalyDetector extends Context.Service<AnomalyDetector, AnomalyDetectorService>()(
  "@mcp-apm/core/AnomalyDetector"
) {}

class OperationDetector {
  readonly detector: StreamingDetector
  readonly episodes: AnomalyEpisodes
  current: Mutable<Anomaly> | undefined = undefined
  constructor(options: ApmOptions) {
    this.detector = new StreamingDetector({
      profile: "latency",
      sensitivity: options.anomalyDetectionSensitivity,
      windowSize: options.anomalyWindowSize
    })
    this.episodes = new AnomalyEpisodes(options.anomalyWindowSize)
  }
}

/**
 * The detector over validated options, judging against `baselines`. Memory
 * is bounded: one detector per operation under the same cap as `Apm`, and
 * `historySize` records.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: ApmOptions, baselines: BaselineStoreService): AnomalyDetectorService => {
  const detectors = new Map<string, OperationDetector>()
  const capacity = options.maxOperations + operationTypes.length
  const history: Array<Anomaly> = []
  const counted = new Map<string, { count: number }>()

  const count = (anomaly: Anomaly, context: Context.Context<never>) => {
    const key = anomaly.operationName + "\u0000" + anomaly.severity
    let counter = counted.get(key)
    if (counter === undefined) {
      const state = { count: 0 }
      counter = state
      counted.set(key, state)
      registerCounter(
        Metric.counter(definitions.anomalies.name, {
          description: definitions.anomalies.description,
          incremental: true,
          attributes: {
            operation_name: anomaly.operationName,
            operation_type: anomaly.operationType,
            severity: anomaly.severity
          }
        }),
        context,
        () => state.count
      )
    }
    counter.count++
  }

  const observe = (record: PerformanceMetrics, context: Context.Context<never>, span: Tracer.Span | undefined) => {
    let state = detectors.get(record.operationName)
    if (state === undefined) {
      if (detectors.size >= capacity) return
      state = new OperationDetector(options)
      detectors.set(record.operationName, state)
    }
    const assessment = state.detector.assess(record.duration)
    const opened = state.episodes.observe(assessment.isAnomaly)
    if (!state.episodes.active) state.current = undefined
    if (!assessment.isAnomaly || assessment.severity === undefined) return
    const baseline = baselines.baselineOf(record.operationName)
    if (record.duration - (baseline?.median ?? assessment.mean) < minimumDeviation) return
    const reference = baseline === undefined || baseline.stddev === 0
      ? { mean: assessment.mean, stddev: assessment.stddev, zScore: assessment.zScore }
      : { mean: baseline.mean, stddev: baseline.stddev, zScore: (record.duration - baseline.mean) / baseline.stddev }
    if (span !== undefined) {
      span.attribute(spanAttributes.score, assessment.score)
      span.attribute(spanAttributes.severity, assessment.severity)
    }
    const current = state.current
    if (opened || current === undefined) {
      const anomaly: Mutable<Anomaly> = {
        operationName: record.operationName,
        operationType: record.operationType,
        duration: record.duration,
        baselineMean: reference.mean,
        baselineStddev: reference.stddev,
        zScore: finite(reference.zScore),
        score: assessment.score,
        severity: assessment.severity,
        kind: assessment.kind ?? "spike",
        firstSeen: record.endTime,
        lastSeen: record.endTime,
        count: 1
      }
      state.current = anomaly
      span?.event(anomalyEvent, BigInt(Math.round(record.endTime * 1e6)), {
        [spanAttributes.score]: anomaly.score,
        [spanAttributes.severity]: anomaly.severity,
        "apm.anomaly.kind": anomaly.kind,
        "apm.anomaly.z_score": anomaly.zScore,
        "apm.anomaly.baseline_mean_seconds": anomaly.baselineMean
      })
      history.push(anomaly)
      if (history.length > historySize) history.shift()
      count(anomaly, context)
      return
    }
    current.count++
    current.lastSeen = record.endTime
    if (record.duration > current.duration) {
      current.duration = record.duration
      current.zScore = finite(reference.zScore)
    }
    current.score = Math.max(current.score, assessment.score)
    // an incident that grows worse is raised again at its new severity, so that alerts on ERROR see it
    if (severityRank[assessment.severity] > severityRank[current.severity]) {
      current.severity = assessment.severity
      count(current, context)
    }
    if (assessment.kind === "shift") current.kind = "shift"
  }

  return {
    observe: options.anomalyDetectionEnabled ? observe : () => {},
    recentAnomalies: (n) =>
      Effect.sync(() => history.slice(-Math.max(0, n)).reverse().map((anomaly) => ({ ...anomaly })))
  }
}

const finite = (z: number) => Number.isFinite(z) ? z : Math.sign(z) * Number.MAX_VALUE

/**
 * The detector over the `ApmConfig` and `BaselineStore` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<AnomalyDetector, never, ApmConfig | BaselineStore> = Layer.effect(
  AnomalyDetector,
  Effect.gen(function*() {
    return make(yield* ApmConfig, yield* BaselineStore)
  })
)
