import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { ApmRecorder, ApmTest, MetricSeries } from "@mcp-apm/core/testing"
import { Effect, FileSystem, Layer, Option, Path } from "effect"
import {
  GitWorktreeApm,
  ModelRouterApm,
  PlanManagementApm,
  VerificationFeedbackApm,
  WorkflowOrchestratorApm
} from "../src/index.ts"

// Only the Apm (and, for git, the platform) is in context: no service layer is built.
const Parts = Layer.merge(ApmTest.layer(), Layer.merge(NodeFileSystem.layer, NodePath.layer))

describe("each service APM's make", () => {
  it.effect("builds the service over the parts it is given; its effects need no Apm in context", () =>
    Effect.gen(function*() {
      const apm = yield* Apm.Apm
      const router = yield* ModelRouterApm.make(apm, { captureContent: true })
      const planner = PlanManagementApm.make(apm)
      const git = GitWorktreeApm.make({ apm, fileSystem: yield* FileSystem.FileSystem, path: yield* Path.Path })
      const orchestrator = WorkflowOrchestratorApm.make(apm, { maxTrackedWorkflows: 1 })
      const verifier = VerificationFeedbackApm.make(apm)

      // Typed with no requirement: each carries the Apm its service was made with (the compiler checks it).
      const calls: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
        router.traceCacheLookup(Effect.succeed(Option.some("cached")), "gpt-4o"),
        planner.traceStorage(Effect.void, "save"),
        git.traceGit(Effect.void, "status"),
        orchestrator.traceWorkflow(Effect.void, { workflowId: "wf-1", definition: "release" }),
        verifier.traceAnalysis(Effect.void, "lint")
      ]
      yield* Effect.forEach(calls, (call) => call, { discard: true })

      assert.isTrue(router.captureContent)
      assert.deepStrictEqual((yield* ApmRecorder.operations).map((r) => r.operationName), [
        "model_router.cache_lookup",
        "plan_management.storage.save",
        "git status",
        "workflow_orchestrator.workflow release",
        "verification_feedback.lint"
      ])
      assert.strictEqual(
        yield* MetricSeries.value("model_router_cache_lookups_total", { model: "gpt-4o", result: "hit" }),
        1
      )
      assert.strictEqual(
        yield* MetricSeries.value("plan_management_storage_operations_total", { operation: "save" }),
        1
      )
      assert.strictEqual(yield* MetricSeries.value("git_worktree_operations_total", { operation: "status" }), 1)
      assert.strictEqual(
        yield* MetricSeries.value("workflow_orchestrator_workflows_executed_total", { definition: "release" }),
        1
      )
      assert.strictEqual(yield* MetricSeries.value("verification_feedback_analyses_total", { analysis: "lint" }), 1)
    }).pipe(Effect.provide(Parts)))

  it.effect("of ModelRouterApm fails on a price table it cannot use, naming the model and the field", () =>
    Effect.gen(function*() {
      const prices = { "gpt-4o": { inputPerMillionTokens: 2.5, outputPerMillionTokens: Number.NaN } }
      const error = yield* Effect.flip(ModelRouterApm.make(yield* Apm.Apm, { prices }))
      assert.strictEqual(error._tag, "InvalidPriceTable")
      assert.include(error.message, "gpt-4o")
      assert.include(error.message, "outputPerMillionTokens")
    }).pipe(Effect.provide(ApmTest.layer())))
})
