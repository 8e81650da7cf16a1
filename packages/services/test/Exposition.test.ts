import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"

import { Effect, Layer, Option } from "effect"
import {
  GitWorktreeApm,
  ModelRouterApm,
  PlanManagementApm,
  ServiceMetrics,
  VerificationFeedbackApm,
  WorkflowOrchestratorApm
} from "../src/index.ts"
import { capturingWarnings } from "./support/observations.ts"
import { exposition, prometheusName } from "./support/prometheus.ts"
import { promtoolCheck } from "@mcp-apm/core/test/support/prometheus"
import { ApmTest } from "@mcp-apm/core/testing"

const AllServices = Layer.mergeAll(
  ModelRouterApm.layer({ prices: { "gpt-4o": { inputPerMillionTokens: 2.5, outputPerMillionTokens: 10 } } }),
  PlanManagementApm.layer(),
  GitWorktreeApm.layer().pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer))),
  WorkflowOrchestratorApm.layer(),
  VerificationFeedbackApm.layer()
).pipe(Layer.provideMerge(ApmTest.layer()))

const allDefinitions = [
  ModelRouterApm.definitions,
  PlanManagementApm.definitions,
  GitWorktreeApm.definitions,
  WorkflowOrchestratorApm.definitions,
  VerificationFeedbackApm.definitions,
  ServiceMetrics.definitions
].flatMap((d) => Object.values(d))

describe("Prometheus exposition of the five services", () => {
  it.live("every service metric family has its HELP line and the text passes promtool", () =>
    Effect.gen(function*() {
      yield* ModelRouterApm.recordTokenUsage({ inputTokens: 3, outputTokens: 4 }).pipe(
        ModelRouterApm.traceModelRequest("gpt-4o", "chat"),
        ModelRouterApm.traceEnsemble({ models: ["gpt-4o"], combination: "best_of" })
      )
      yield* Effect.succeed({ chosenModel: "gpt-4o", candidates: ["gpt-4o"], reason: "only one", confidence: 0.9 })
        .pipe(
          ModelRouterApm.traceRouting
        )
      yield* Effect.succeed(Option.some(1)).pipe(ModelRouterApm.traceCacheLookup("gpt-4o"))
      yield* Effect.succeed(["t"]).pipe(PlanManagementApm.traceTaskDecomposition("p"))
      yield* Effect.void.pipe(PlanManagementApm.traceConsensus({ mechanism: "majority", participants: 3 }))
      yield* Effect.void.pipe(PlanManagementApm.traceStorage("save"))
      yield* Effect.void.pipe(PlanManagementApm.tracePlanGeneration("p"))
      yield* Effect.void.pipe(GitWorktreeApm.traceGit("status"))
      yield* Effect.succeed({ conflicts: 1 }).pipe(GitWorktreeApm.traceMerge)
      yield* GitWorktreeApm.measureWorktreeSize(import.meta.dirname, "tests")
      yield* Effect.void.pipe(
        WorkflowOrchestratorApm.traceStep("s"),
        WorkflowOrchestratorApm.traceAgentCoordination({ pattern: "handoff", agents: ["a", "b"] }),
        WorkflowOrchestratorApm.traceWorkflow({ workflowId: "wf", definition: "d" })
      )
      yield* Effect.succeed([{ severity: "medium" as const }]).pipe(
        VerificationFeedbackApm.traceSecurityScan,
        VerificationFeedbackApm.traceStage("scan"),
        VerificationFeedbackApm.tracePipeline("p")
      )
      yield* Effect.succeed({ score: 0.7 }).pipe(VerificationFeedbackApm.traceQualityAssessment("overall"))
      yield* Effect.succeed({ score: NaN }).pipe(
        VerificationFeedbackApm.traceQualityAssessment("overall"),
        capturingWarnings([])
      )

      const { help, text } = yield* exposition
      for (const d of allDefinitions) assert.strictEqual(help.get(prometheusName(d.name)), d.description, d.name)
      // Counters end in _total, durations in _seconds, sizes in _bytes.
      for (const d of allDefinitions) {
        if (d.name.includes("duration") && !d.name.startsWith("gen_ai")) assert.match(d.name, /_seconds$/)
        if (d.name.includes("size")) assert.match(d.name, /_bytes$/)
      }
      assert.include(text, `apm_invalid_observations_total{service="verification_feedback",field="score"} 1`)
      const promtool = promtoolCheck(text)
      if (promtool !== undefined) assert.strictEqual(promtool.trim(), "")
    }).pipe(Effect.provide(AllServices)), 30_000)
})
