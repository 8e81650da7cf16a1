/**
 * The demo workload: the five MCP services simulated under load, through
 * their service APMs, with a scheduled fault (a slowdown of model requests
 * and an error burst in plan storage) so that anomalies and insights appear.
 *
 * @since 0.1.0
 */
import {
  GitWorktreeApm,
  ModelRouterApm,
  PlanManagementApm,
  VerificationFeedbackApm,
  WorkflowOrchestratorApm
} from "@mcp-apm/services"
import { Duration, Effect, Option, Random } from "effect"

/**
 * When the fault starts and how long it lasts, from the start of the run.
 *
 * @category models
 * @since 0.1.0
 */
export interface FaultSchedule {
  readonly start: Duration.Duration
  readonly length: Duration.Duration
}

/** A lognormal duration around `medianMillis`: latencies are heavy-tailed. */
const latency = (medianMillis: number, sigma = 0.35) =>
  Effect.gen(function*() {
    const u1 = Math.max(yield* Random.next, 1e-12)
    const u2 = yield* Random.next
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
    yield* Effect.sleep(Math.max(1, Math.round(medianMillis * Math.exp(sigma * z))))
  })

const chance = (p: number) => Effect.map(Random.next, (u) => u < p)

const models = ["claude-3-sonnet", "claude-3-haiku", "gpt-4o"] as const

const modelRouter = (faulty: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const router = yield* ModelRouterApm.ModelRouterApm
    const decision = yield* router.traceRouting(Effect.gen(function*() {
      yield* latency(2)
      const chosenModel = models[yield* Random.nextIntBetween(0, models.length - 1)]!
      return { chosenModel, candidates: models, reason: "cheapest model over the quality bar", confidence: 0.8 }
    }))
    const cached = yield* router.traceCacheLookup(
      Effect.map(chance(0.3), (hit) => hit ? Option.some("cached answer") : Option.none<string>()),
      decision.chosenModel
    )
    if (Option.isSome(cached)) return
    const slow = yield* faulty
    yield* router.traceModelRequest(
      Effect.gen(function*() {
        yield* latency(slow ? 240 : 60)
        yield* router.recordTokenUsage({
          inputTokens: yield* Random.nextIntBetween(200, 800),
          outputTokens: yield* Random.nextIntBetween(50, 400)
        })
      }),
      decision.chosenModel,
      "generate",
      { inputText: "Summarise the attached design document", provider: "anthropic" }
    )
  })

class StorageUnavailable extends Error {
  override readonly name = "StorageUnavailable"
}

const planManagement = (faulty: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const plans = yield* PlanManagementApm.PlanManagementApm
    const planId = `plan-${yield* Random.nextIntBetween(1, 1_000_000)}`
    yield* plans.tracePlanGeneration(
      Effect.gen(function*() {
        const tasks = yield* plans.traceTaskDecomposition(
          Effect.andThen(latency(15), Effect.map(Random.nextIntBetween(2, 8), (n) => Array.from({ length: n }))),
          planId
        )
        yield* plans.traceConsensus(latency(10 + tasks.length * 2), { mechanism: "majority", participants: 3 })
      }),
      planId
    )
    const failing = (yield* faulty) && (yield* chance(0.5))
    yield* plans.traceStorage(
      Effect.andThen(latency(8), failing ? Effect.fail(new StorageUnavailable("plan store timed out")) : Effect.void),
      "save"
    )
  })

const gitWorktree = Effect.gen(function*() {
  const git = yield* GitWorktreeApm.GitWorktreeApm
  yield* git.traceGit(latency(6), "status")
  yield* git.traceWorktree(latency(25), "add")
  const conflicts = (yield* chance(0.1)) ? 1 : 0
  yield* git.traceMerge(Effect.as(latency(30), { conflicts }))
  yield* git.traceWorktree(latency(12), "remove")
})

const workflowOrchestrator = Effect.gen(function*() {
  const workflows = yield* WorkflowOrchestratorApm.WorkflowOrchestratorApm
  const workflowId = `wf-${yield* Random.nextIntBetween(1, 1_000_000)}`
  yield* workflows.traceWorkflow(
    Effect.gen(function*() {
      yield* workflows.traceStep(latency(10), "fetch_sources")
      yield* workflows.traceAgentCoordination(latency(20), {
        pattern: "parallel",
        agents: ["planner", "coder", "reviewer"]
      })
      yield* workflows.traceStep(latency(15), "publish")
    }),
    { workflowId, definition: "content_pipeline" }
  )
})

const verificationFeedback = Effect.gen(function*() {
  const verification = yield* VerificationFeedbackApm.VerificationFeedbackApm
  yield* verification.tracePipeline(
    Effect.gen(function*() {
      yield* verification.traceStage(verification.traceAnalysis(latency(20), "lint"), "lint")
      yield* verification.traceStage(
        verification.traceSecurityScan(Effect.as(latency(30), [{ severity: "low" as const }])),
        "security"
      )
      yield* verification.traceStage(
        verification.traceQualityAssessment(Effect.as(latency(10), { score: 0.86 }), "overall"),
        "quality"
      )
    }),
    "pre_merge"
  )
})

/**
 * Runs the five services in parallel loops until interrupted. Errors of the
 * simulated work are recorded by the APMs and then dropped, as a service
 * would answer them and go on.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = (fault: FaultSchedule) =>
  Effect.gen(function*() {
    const started = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const faulty = Effect.clockWith((clock) =>
      Effect.map(clock.currentTimeMillis, (now) => {
        const elapsed = now - started
        const start = Duration.toMillis(fault.start)
        return elapsed >= start && elapsed < start + Duration.toMillis(fault.length)
      })
    )
    const loop = <R>(work: Effect.Effect<void, unknown, R>, pauseMillis: number) =>
      Effect.forever(Effect.andThen(Effect.ignore(work), Effect.sleep(pauseMillis)))
    yield* Effect.all([
      loop(modelRouter(faulty), 10),
      loop(modelRouter(faulty), 15),
      loop(planManagement(faulty), 20),
      loop(gitWorktree, 30),
      loop(workflowOrchestrator, 25),
      loop(verificationFeedback, 40)
    ], { concurrency: "unbounded", discard: true })
  })
