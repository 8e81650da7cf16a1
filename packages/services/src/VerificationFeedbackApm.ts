/**
 * The APM of verification feedback: code analyses, security scans (findings
 * by severity), quality assessments (a score in [0, 1]) and verification
 * pipelines whose stages are child spans.
 *
 * An unknown analysis, dimension or severity, or a pipeline or stage that
 * is not a bounded name, folds into `other`; a quality score that is not a
 * number in [0, 1] (NaN included) is left out, the assessment itself still
 * counted. Each is counted in `apm_invalid_observations_total` and warned
 * about at most once a minute, and the traced effect's outcome is left as it
 * was; `layer({ strict: true })` fails with `InvalidObservation` instead.
 *
 * @since 0.1.0
 */
import { Apm, PerformanceMetrics } from "@mcp-apm/core"
import type { CappedLabel } from "@mcp-apm/core"
import { Context, Effect, Layer } from "effect"
import { dual } from "effect/Function"
import type { InvalidObservation } from "./InvalidObservation.ts"
import { cappedLabel } from "./internal/labels.ts"
import { counter, durationHistogram, gauge, update } from "./internal/metrics.ts"
import { annotate, traceOperation, withCurrentSpan } from "./internal/operation.ts"
import * as Validator from "./internal/validate.ts"

const service = "verification_feedback"

const { statusOf } = PerformanceMetrics

/**
 * The kinds of analysis.
 *
 * @category models
 * @since 0.1.0
 */
export const analyses = [
  "static_analysis",
  "lint",
  "type_check",
  "test",
  "complexity",
  "coverage",
  "security_scan",
  "quality_assessment"
] as const

/**
 * @category models
 * @since 0.1.0
 */
export type Analysis = typeof analyses[number]

/**
 * Severities of security findings.
 *
 * @category models
 * @since 0.1.0
 */
export const severities = ["critical", "high", "medium", "low", "info"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type Severity = typeof severities[number]

/**
 * What a quality score measures.
 *
 * @category models
 * @since 0.1.0
 */
export const qualityDimensions = [
  "overall",
  "maintainability",
  "reliability",
  "security",
  "performance",
  "readability",
  "test_coverage",
  "documentation"
] as const

/**
 * @category models
 * @since 0.1.0
 */
export type QualityDimension = typeof qualityDimensions[number]

/**
 * Name and description of each metric.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  analyses: {
    name: "verification_feedback_analyses_total",
    description: "Analyses finished, by analysis and status"
  },
  analysisDuration: {
    name: "verification_feedback_analysis_duration_seconds",
    description: "Duration of analyses in seconds, by analysis"
  },
  qualityScore: {
    name: "verification_feedback_quality_score",
    description: "Latest quality score, between 0 and 1, by dimension"
  },
  securityFindings: {
    name: "verification_feedback_security_findings_total",
    description: "Security findings reported by scans, by severity"
  },
  pipelineRuns: {
    name: "verification_feedback_pipeline_runs_total",
    description: "Verification pipeline runs finished, by pipeline and status"
  },
  stageDuration: {
    name: "verification_feedback_stage_duration_seconds",
    description: "Duration of verification pipeline stages in seconds, by pipeline, stage and status"
  }
} as const

const metrics = {
  analyses: counter(definitions.analyses),
  analysisDuration: durationHistogram(definitions.analysisDuration),
  qualityScore: gauge(definitions.qualityScore),
  securityFindings: counter(definitions.securityFindings),
  pipelineRuns: counter(definitions.pipelineRuns),
  stageDuration: durationHistogram(definitions.stageDuration)
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Distinct pipeline, and stage, names kept as label values; later ones fold into `other`. */
  readonly maxPipelines?: number | undefined
  readonly maxStages?: number | undefined
  /** Fail with `InvalidObservation` on a value that cannot be recorded, instead of folding or dropping it. For tests. */
  readonly strict?: boolean | undefined
}

/**
 * A security finding: only its severity is recorded.
 *
 * @category models
 * @since 0.1.0
 */
export interface Finding {
  readonly severity: Severity
}

/**
 * @category models
 * @since 0.1.0
 */
export interface QualityAssessment {
  /** Between 0 and 1. */
  readonly score: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface VerificationFeedbackApmService {
  readonly traceAnalysis: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    analysis: Analysis
  ) => Effect.Effect<A, E | InvalidObservation, R>
  /** Traces a security scan and counts the findings it returns by severity. */
  readonly traceSecurityScan: <F extends Finding, E, R>(
    self: Effect.Effect<ReadonlyArray<F>, E, R>
  ) => Effect.Effect<ReadonlyArray<F>, E | InvalidObservation, R>
  /** Traces a quality assessment and records the score it returns. */
  readonly traceQualityAssessment: <A extends QualityAssessment, E, R>(
    self: Effect.Effect<A, E, R>,
    dimension: QualityDimension
  ) => Effect.Effect<A, E | InvalidObservation, R>
  readonly tracePipeline: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    pipeline: string
  ) => Effect.Effect<A, E | InvalidObservation, R>
  /** Traces one stage; inside `tracePipeline` it is a child span of the pipeline. */
  readonly traceStage: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    stage: string
  ) => Effect.Effect<A, E | InvalidObservation, R>
}

/**
 * @category services
 * @since 0.1.0
 */
export class VerificationFeedbackApm extends Context.Service<VerificationFeedbackApm, VerificationFeedbackApmService>()(
  "@mcp-apm/services/VerificationFeedbackApm"
) {}

/** The pipeline a fiber runs in, so that its stages are labelled with it. */
const CurrentPipeline = Context.Reference<string | undefined>(
  "@mcp-apm/services/VerificationFeedbackApm/CurrentPipeline",
  { defaultValue: () => undefined }
)

const noPipeline = "none"

/**
 * What one service instance keeps: the `Apm` it records into, its checks
 * and label caps. Each method of the service is the function `<method>In`
 * below, over it.
 */
interface Verifier {
  readonly apm: Apm.ApmService
  readonly validate: Validator.Validator
  readonly pipelineLabels: CappedLabel.CappedLabel
  readonly stageLabels: CappedLabel.CappedLabel
}

// Every kind of analysis, the scan and assessment included, is traced and counted the same way.
const analysisOperation = <A, E, R>(verifier: Verifier, self: Effect.Effect<A, E, R>, analysis: string) =>
  traceOperation(
    verifier.apm,
    self,
    `verification_feedback.${analysis}`,
    "verification_operation",
    { "mcp.verification_feedback.analysis": analysis },
    (seconds, exit) =>
      Effect.all([
        update(metrics.analyses, { analysis, status: statusOf(exit) }, 1),
        update(metrics.analysisDuration, { analysis }, seconds)
      ], { discard: true })
  )

const traceAnalysisIn = <A, E, R>(verifier: Verifier, self: Effect.Effect<A, E, R>, analysis: Analysis) =>
  Effect.flatMap(verifier.validate.oneOf("analysis", analysis, analyses), (a) => analysisOperation(verifier, self, a))

const recordFindings = Effect.fnUntraced(function*(verifier: Verifier, findings: ReadonlyArray<Finding>) {
  const list = yield* verifier.validate.list("findings", findings)
  const counts = new Map<string, number>(severities.map((s) => [s, 0]))
  for (const finding of list) {
    const severity = yield* verifier.validate.oneOf("severity", Validator.fieldOf(finding, "severity"), severities)
    counts.set(severity, (counts.get(severity) ?? 0) + 1)
  }
  yield* Effect.annotateCurrentSpan({
    "mcp.verification_feedback.findings.total": list.length,
    ...Object.fromEntries([...counts].map(([severity, n]) => [`mcp.verification_feedback.findings.${severity}`, n]))
  })
  yield* Effect.forEach(
    [...counts].filter(([, n]) => n > 0),
    ([severity, n]) => update(metrics.securityFindings, { severity }, n),
    { discard: true }
  )
})

const traceSecurityScanIn = <F extends Finding, E, R>(
  verifier: Verifier,
  self: Effect.Effect<ReadonlyArray<F>, E, R>
) => analysisOperation(verifier, Effect.tap(self, (findings) => recordFindings(verifier, findings)), "security_scan")

const recordScore = (verifier: Verifier, dimension: string, assessment: QualityAssessment) =>
  Effect.flatMap(
    verifier.validate.fraction("score", Validator.fieldOf(assessment, "score")),
    (score) =>
      withCurrentSpan((span) => {
        annotate(span, {
          "mcp.verification_feedback.quality.dimension": dimension,
          "mcp.verification_feedback.quality.score": score
        })
        return score === undefined ? Effect.void : update(metrics.qualityScore, { dimension }, score)
      })
  )

const traceQualityAssessmentIn = <A extends QualityAssessment, E, R>(
  verifier: Verifier,
  self: Effect.Effect<A, E, R>,
  dimension: QualityDimension
) =>
  Effect.flatMap(verifier.validate.oneOf("dimension", dimension, qualityDimensions), (d) =>
    analysisOperation(
      verifier,
      Effect.tap(self, (assessment) => recordScore(verifier, d, assessment)),
      "quality_assessment"
    ))

const tracePipelineIn = <A, E, R>(verifier: Verifier, self: Effect.Effect<A, E, R>, pipeline: string) =>
  Effect.flatMap(verifier.validate.token("pipeline", pipeline), (name) => {
    const label = verifier.pipelineLabels.bound(name)
    return traceOperation(
      verifier.apm,
      Effect.provideService(self, CurrentPipeline, label),
      `verification_feedback.pipeline ${label}`,
      "verification_operation",
      { "mcp.verification_feedback.pipeline.name": name },
      (_, exit) => update(metrics.pipelineRuns, { pipeline: label, status: statusOf(exit) }, 1)
    )
  })

const traceStageIn = <A, E, R>(verifier: Verifier, self: Effect.Effect<A, E, R>, stage: string) =>
  Effect.gen(function*() {
    const name = yield* verifier.validate.token("stage", stage)
    const label = verifier.stageLabels.bound(name)
    const pipeline = (yield* CurrentPipeline) ?? noPipeline
    return yield* traceOperation(
      verifier.apm,
      self,
      `verification_feedback.stage ${label}`,
      "verification_operation",
      { "mcp.verification_feedback.stage.name": name },
      (seconds, exit) => update(metrics.stageDuration, { pipeline, stage: label, status: statusOf(exit) }, seconds)
    )
  })

/**
 * The service recording into `apm`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (apm: Apm.ApmService, options: Options = {}): VerificationFeedbackApmService => {
  const verifier: Verifier = {
    apm,
    validate: Validator.make(service, options),
    pipelineLabels: cappedLabel(options.maxPipelines),
    stageLabels: cappedLabel(options.maxStages)
  }
  return VerificationFeedbackApm.of({
    traceAnalysis: (self, analysis) => traceAnalysisIn(verifier, self, analysis),
    traceSecurityScan: (self) => traceSecurityScanIn(verifier, self),
    traceQualityAssessment: (self, dimension) => traceQualityAssessmentIn(verifier, self, dimension),
    tracePipeline: (self, pipeline) => tracePipelineIn(verifier, self, pipeline),
    traceStage: (self, stage) => traceStageIn(verifier, self, stage)
  })
}

/**
 * The service over the `Apm` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<VerificationFeedbackApm, never, Apm.Apm> =>
  Layer.effect(VerificationFeedbackApm, Effect.map(Apm.Apm, (apm) => make(apm, options)))

/**
 * Traces one analysis.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceAnalysis: {
  (analysis: Analysis): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | VerificationFeedbackApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    analysis: Analysis
  ): Effect.Effect<A, E | InvalidObservation, R | VerificationFeedbackApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, analysis: Analysis) =>
    VerificationFeedbackApm.use((apm) => apm.traceAnalysis(self, analysis))
)

/**
 * Traces a security scan that returns its findings.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceSecurityScan = <F extends Finding, E, R>(
  self: Effect.Effect<ReadonlyArray<F>, E, R>
): Effect.Effect<ReadonlyArray<F>, E | InvalidObservation, R | VerificationFeedbackApm> =>
  VerificationFeedbackApm.use((apm) => apm.traceSecurityScan(self))

/**
 * Traces a quality assessment of `dimension` that returns its score.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceQualityAssessment: {
  (dimension: QualityDimension): <A extends QualityAssessment, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | VerificationFeedbackApm>
  <A extends QualityAssessment, E, R>(
    self: Effect.Effect<A, E, R>,
    dimension: QualityDimension
  ): Effect.Effect<A, E | InvalidObservation, R | VerificationFeedbackApm>
} = dual(
  2,
  <A extends QualityAssessment, E, R>(self: Effect.Effect<A, E, R>, dimension: QualityDimension) =>
    VerificationFeedbackApm.use((apm) => apm.traceQualityAssessment(self, dimension))
)

/**
 * Traces a verification pipeline run.
 *
 * @example
 * ```ts
 * const verify = Effect.all([lint.pipe(VerificationFeedbackApm.traceStage("lint")), tests]).pipe(
 *   VerificationFeedbackApm.tracePipeline("pre-merge")
 * )
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const tracePipeline: {
  (pipeline: string): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | VerificationFeedbackApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    pipeline: string
  ): Effect.Effect<A, E | InvalidObservation, R | VerificationFeedbackApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, pipeline: string) =>
    VerificationFeedbackApm.use((apm) => apm.tracePipeline(self, pipeline))
)

/**
 * Traces one stage of the current verification pipeline.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceStage: {
  (stage: string): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | VerificationFeedbackApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    stage: string
  ): Effect.Effect<A, E | InvalidObservation, R | VerificationFeedbackApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, stage: string) =>
    VerificationFeedbackApm.use((apm) => apm.traceStage(self, stage))
)
