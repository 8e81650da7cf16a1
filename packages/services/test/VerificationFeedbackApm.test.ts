import { assert, describe, it } from "@effect/vitest"

import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { VerificationFeedbackApm } from "../src/index.ts"
import { after } from "./support/clock.ts"

import {
  assertOutcomeUnchanged,
  capturingWarnings,
  hostileValue,
  invalidCount,
  outcomes
} from "./support/observations.ts"
import { exposition, prometheusName } from "./support/prometheus.ts"
import { ApmRecorder, ApmTest, MetricSeries } from "@mcp-apm/core/testing"

const TestLayer = VerificationFeedbackApm.layer().pipe(Layer.provideMerge(ApmTest.layer()))
const StrictLayer = VerificationFeedbackApm.layer({ strict: true }).pipe(Layer.provideMerge(ApmTest.layer()))

const findings: ReadonlyArray<VerificationFeedbackApm.Finding & { readonly file: string }> = [
  { severity: "high", file: "src/auth.ts" },
  { severity: "low", file: "src/util.ts" },
  { severity: "high", file: "src/db.ts" }
]

describe("VerificationFeedbackApm", () => {
  it.effect("a pipeline's stages are its child spans; analyses, findings and scores are recorded", () =>
    Effect.gen(function*() {
      const lint = after(300, Effect.succeed(0)).pipe(VerificationFeedbackApm.traceAnalysis("lint"))
      const scan = after(1200, Effect.succeed(findings)).pipe(VerificationFeedbackApm.traceSecurityScan)
      const quality = after(500, Effect.succeed({ score: 0.82, notes: "ok" })).pipe(
        VerificationFeedbackApm.traceQualityAssessment("maintainability")
      )
      const report = yield* Effect.all([
        lint.pipe(VerificationFeedbackApm.traceStage("static")),
        scan.pipe(VerificationFeedbackApm.traceStage("security")),
        quality.pipe(VerificationFeedbackApm.traceStage("quality"))
      ]).pipe(VerificationFeedbackApm.tracePipeline("pre-merge"))
      assert.strictEqual(report[2].score, 0.82)

      const spans = yield* ApmRecorder.spans
      const pipeline = spans.find((s) => s.name === "verification_feedback.pipeline pre-merge")!
      assert.strictEqual(pipeline.attributes["apm.operation.type"], "verification_operation")
      const stages = spans.filter((s) => s.parentSpanId === pipeline.spanId)
      assert.deepStrictEqual(stages.map((s) => s.name), [
        "verification_feedback.stage static",
        "verification_feedback.stage security",
        "verification_feedback.stage quality"
      ])
      const scanSpan = spans.find((s) => s.name === "verification_feedback.security_scan")!
      assert.strictEqual(scanSpan.parentSpanId, stages[1]!.spanId)
      assert.strictEqual(scanSpan.attributes["mcp.verification_feedback.findings.total"], 3)
      assert.strictEqual(scanSpan.attributes["mcp.verification_feedback.findings.high"], 2)
      assert.strictEqual(scanSpan.attributes["mcp.verification_feedback.findings.critical"], 0)
      assert.notInclude(JSON.stringify(spans), "src/auth.ts")
      const qualitySpan = spans.find((s) => s.name === "verification_feedback.quality_assessment")!
      assert.strictEqual(qualitySpan.attributes["mcp.verification_feedback.quality.score"], 0.82)

      const analysis = (analysis: string) =>
        MetricSeries.value("verification_feedback_analyses_total", { analysis, status: "ok" })
      assert.strictEqual(yield* analysis("lint"), 1)
      assert.strictEqual(yield* analysis("security_scan"), 1)
      assert.strictEqual(yield* analysis("quality_assessment"), 1)
      const scanDuration = yield* MetricSeries.state("verification_feedback_analysis_duration_seconds", {
        analysis: "security_scan"
      })
      assert.strictEqual(scanDuration!["sum"], 1.2)
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_security_findings_total", { severity: "high" }),
        2
      )
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_security_findings_total", { severity: "low" }),
        1
      )
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_quality_score", { dimension: "maintainability" }),
        0.82
      )
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_pipeline_runs_total", { pipeline: "pre-merge", status: "ok" }),
        1
      )
      const stage = yield* MetricSeries.state("verification_feedback_stage_duration_seconds", {
        pipeline: "pre-merge",
        stage: "security",
        status: "ok"
      })
      assert.strictEqual(stage!["sum"], 1.2)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a failed analysis and pipeline are recorded with their status", () =>
    Effect.gen(function*() {
      const failing = Effect.fail("tsc crashed").pipe(
        VerificationFeedbackApm.traceAnalysis("type_check"),
        VerificationFeedbackApm.traceStage("types"),
        VerificationFeedbackApm.tracePipeline("nightly")
      )
      assert.strictEqual(yield* Effect.flip(failing), "tsc crashed")
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_analyses_total", { analysis: "type_check", status: "error" }),
        1
      )
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_pipeline_runs_total", {
          pipeline: "nightly",
          status: "error"
        }),
        1
      )
      assert.strictEqual(
        (yield* MetricSeries.state("verification_feedback_stage_duration_seconds", {
          stage: "types",
          status: "error"
        }))![
          "count"
        ],
        1
      )
      assert.deepStrictEqual((yield* ApmRecorder.spans).map((s) => s.status), ["error", "error", "error"])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("with strict: true, bad input fails with InvalidObservation and records nothing", () =>
    Effect.gen(function*() {
      const score = yield* Effect.flip(
        Effect.succeed({ score: 1.3 }).pipe(VerificationFeedbackApm.traceQualityAssessment("overall"))
      )
      assert.strictEqual(score._tag, "InvalidObservation")
      assert.strictEqual(score.field, "score")
      const nan = yield* Effect.flip(
        Effect.succeed({ score: NaN }).pipe(VerificationFeedbackApm.traceQualityAssessment("overall"))
      )
      assert.strictEqual(nan.field, "score")
      const severity = yield* Effect.flip(
        Effect.succeed(
          [{ severity: "high" }, { severity: "apocalyptic" }] as ReadonlyArray<VerificationFeedbackApm.Finding>
        )
          .pipe(VerificationFeedbackApm.traceSecurityScan)
      )
      assert.strictEqual(severity.field, "severity")
      const analysis = yield* Effect.flip(Effect.void.pipe(VerificationFeedbackApm.traceAnalysis("vibes" as never)))
      assert.strictEqual(analysis.field, "analysis")
      const dimension = yield* Effect.flip(
        Effect.succeed({ score: 0.5 }).pipe(VerificationFeedbackApm.traceQualityAssessment("beauty" as never))
      )
      assert.strictEqual(dimension.field, "dimension")
      assert.isUndefined(yield* MetricSeries.value("verification_feedback_quality_score"))
      assert.isUndefined(yield* MetricSeries.value("verification_feedback_security_findings_total"))
    }).pipe(Effect.provide(StrictLayer)))

  it.effect("a NaN quality score is dropped: the assessment comes back and is counted, its score is not", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const assessment = { score: NaN, notes: "the model could not decide" }
      const result = yield* Effect.succeed(assessment).pipe(VerificationFeedbackApm.traceQualityAssessment("overall"))
      assert.strictEqual(result, assessment)
      assert.isUndefined(yield* MetricSeries.value("verification_feedback_quality_score"))
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_analyses_total", {
          analysis: "quality_assessment",
          status: "ok"
        }),
        1
      )
      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.status, "ok")
      assert.strictEqual(span!.attributes["mcp.verification_feedback.quality.dimension"], "overall")
      assert.notProperty(span!.attributes, "mcp.verification_feedback.quality.score")
      assert.strictEqual(yield* invalidCount("verification_feedback", "score"), 1)
      assert.deepStrictEqual(lines, ["verification_feedback: invalid score=NaN: expected a number between 0 and 1"])
    }).pipe(capturingWarnings(lines), Effect.provide(TestLayer))
  })

  it.effect("unknown names fold into other and are counted; the traced effects end as they would", () =>
    Effect.gen(function*() {
      const scan = [{ severity: "high" }, { severity: "apocalyptic" }] as ReadonlyArray<VerificationFeedbackApm.Finding>
      const failing = Effect.fail("linter crashed").pipe(
        VerificationFeedbackApm.traceAnalysis("vibes" as never),
        VerificationFeedbackApm.traceStage("stage with spaces"),
        VerificationFeedbackApm.tracePipeline("pipe\nline")
      )
      assert.strictEqual(yield* Effect.flip(failing), "linter crashed")
      assert.strictEqual(yield* Effect.succeed(scan).pipe(VerificationFeedbackApm.traceSecurityScan), scan)
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_analyses_total", { analysis: "other", status: "error" }),
        1
      )
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_pipeline_runs_total", { pipeline: "other", status: "error" }),
        1
      )
      const stage = yield* MetricSeries.state("verification_feedback_stage_duration_seconds", {
        pipeline: "other",
        stage: "other"
      })
      assert.strictEqual(stage!["count"], 1)
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_security_findings_total", { severity: "high" }),
        1
      )
      assert.strictEqual(
        yield* MetricSeries.value("verification_feedback_security_findings_total", { severity: "other" }),
        1
      )
      const scanSpan = (yield* ApmRecorder.spans).find((s) => s.name === "verification_feedback.security_scan")!
      assert.strictEqual(scanSpan.attributes["mcp.verification_feedback.findings.total"], 2)
      assert.strictEqual(scanSpan.attributes["mcp.verification_feedback.findings.other"], 1)
      for (const field of ["analysis", "stage", "pipeline", "severity"]) {
        assert.strictEqual(yield* invalidCount("verification_feedback", field), 1, field)
      }
    }).pipe(capturingWarnings([]), Effect.provide(TestLayer)))

  it.effect("warns at most once a minute per field", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const assess = (score: number) =>
        Effect.succeed({ score }).pipe(VerificationFeedbackApm.traceQualityAssessment("overall"))
      yield* assess(NaN)
      yield* assess(1.3)
      yield* Effect.void.pipe(VerificationFeedbackApm.traceStage("two words"))
      yield* TestClock.adjust("1 minute")
      yield* assess(-0.1)
      assert.deepStrictEqual(lines, [
        "verification_feedback: invalid score=NaN: expected a number between 0 and 1",
        "verification_feedback: invalid stage=\"two words\": expected a name of letters, digits and . _ : / @ + - (at most 128 characters)",
        "verification_feedback: invalid score=-0.1: expected a number between 0 and 1 (1 more since the last warning)"
      ])
      assert.strictEqual(yield* invalidCount("verification_feedback", "score"), 3)
    }).pipe(capturingWarnings(lines), Effect.provide(TestLayer))
  })

  it.effect("for any hostile input, the caller's effect ends exactly as without the APM", () => {
    const inputs = fc.record({
      outcome: outcomes,
      call: fc.constantFrom("analysis", "scan", "quality", "pipeline", "stage"),
      analysis: fc.oneof(fc.constantFrom(...VerificationFeedbackApm.analyses), hostileValue),
      findings: fc.oneof(
        fc.array(
          fc.record({ severity: fc.oneof(fc.constantFrom(...VerificationFeedbackApm.severities), hostileValue) }),
          {
            maxLength: 4
          }
        ),
        fc.array(hostileValue, { maxLength: 3 }),
        hostileValue
      ),
      assessment: fc.oneof(fc.record({ score: hostileValue }), hostileValue),
      dimension: fc.oneof(fc.constantFrom(...VerificationFeedbackApm.qualityDimensions), hostileValue),
      name: hostileValue
    })
    type Input = typeof inputs extends fc.Arbitrary<infer I> ? I : never
    const success = (input: Input) =>
      input.call === "scan" ? input.findings : input.call === "quality" ? input.assessment : { report: input.name }
    const trace = (self: Effect.Effect<any, any>, input: Input) => {
      const i = input as any
      switch (input.call) {
        case "analysis":
          return VerificationFeedbackApm.traceAnalysis(self, i.analysis)
        case "scan":
          return VerificationFeedbackApm.traceSecurityScan(self)
        case "quality":
          return VerificationFeedbackApm.traceQualityAssessment(self, i.dimension)
        case "pipeline":
          return VerificationFeedbackApm.tracePipeline(self, i.name)
        case "stage":
          return VerificationFeedbackApm.traceStage(self, i.name)
      }
    }
    return assertOutcomeUnchanged(inputs, success, trace).pipe(capturingWarnings([]), Effect.provide(TestLayer))
  })

  it.effect("every metric has a HELP line in the Prometheus exposition", () =>
    Effect.gen(function*() {
      yield* Effect.succeed([{ severity: "info" as const }]).pipe(
        VerificationFeedbackApm.traceSecurityScan,
        VerificationFeedbackApm.traceStage("scan"),
        VerificationFeedbackApm.tracePipeline("p")
      )
      yield* Effect.succeed({ score: 1 }).pipe(VerificationFeedbackApm.traceQualityAssessment("overall"))
      const { help } = yield* exposition
      for (const d of Object.values(VerificationFeedbackApm.definitions)) {
        assert.strictEqual(help.get(prometheusName(d.name)), d.description, d.name)
      }
    }).pipe(Effect.provide(TestLayer)))
})
