/**
 * The demo workload: the five MCP services simulated under load, through
 * their service APMs, with a scheduled fault (a slowdown of model requests
 * and an error burst in plan storage) so that anomalies and insights appear.
 * Plan management saves each plan and reads it back through a `PlanStore`.
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
import { Clock, Duration, Effect, Option, Random, Schedule, Semaphore } from "effect"
import type { GitRepositoryService } from "./GitRepository.ts"
import { makeMemory } from "./PlanStore.ts"
import type { PlanStoreError, PlanStoreService } from "./PlanStore.ts"

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

const planManagement = (faulty: Effect.Effect<boolean>, store: PlanStoreService) =>
  Effect.gen(function*() {
    const plans = yield* PlanManagementApm.PlanManagementApm
    const planId = `plan-${yield* Random.nextIntBetween(1, 1_000_000)}`
    const tasks = yield* plans.tracePlanGeneration(
      Effect.gen(function*() {
        const tasks = yield* plans.traceTaskDecomposition(
          Effect.andThen(
            latency(15),
            Effect.map(
              Random.nextIntBetween(2, 8),
              (n) => Array.from({ length: n }, (_, i) => `${planId} task ${i + 1}`)
            )
          ),
          planId
        )
        yield* plans.traceConsensus(latency(10 + tasks.length * 2), { mechanism: "majority", participants: 3 })
        return tasks
      }),
      planId
    )
    // rolled whether or not the fault is on, so that the sequence of draws does not depend on timing
    const roll = yield* chance(0.5)
    const failing = (yield* faulty) && roll
    const save: Effect.Effect<number, StorageUnavailable | PlanStoreError> = failing
      ? Effect.fail(new StorageUnavailable("plan store timed out"))
      : store.save({ key: planId, tasks })
    const id = yield* plans.traceStorage(
      save.pipe(
        // as a service would, inside the storage span, so that the log record carries its trace
        Effect.tapError((error) =>
          Effect.logWarning("plan storage write failed").pipe(
            Effect.annotateLogs({ "plan.id": planId, "error.type": error.name, "error.message": error.message })
          )
        )
      ),
      "save"
    )
    // read back, as the plan's first reader would
    yield* plans.traceStorage(store.load(id), "load")
  })

const simulatedGitWorktree = Effect.gen(function*() {
  const git = yield* GitWorktreeApm.GitWorktreeApm
  yield* git.traceGit(latency(6), "status")
  yield* git.traceWorktree(latency(25), "add")
  const conflicts = (yield* chance(0.1)) ? 1 : 0
  yield* git.traceMerge(Effect.as(latency(30), { conflicts }))
  yield* git.traceWorktree(latency(12), "remove")
})

/**
 * The same four steps as real git commands, in a worktree of its own per
 * operation. Adding and removing worktrees write the repository's shared
 * files (its config, `.git/worktrees`) and fail on each other's locks, so
 * they take turns, as a worktree service would make them; the wait is part
 * of their duration.
 */
const realGitWorktree = (repository: GitRepositoryService, turns: Semaphore.Semaphore, id: number) =>
  Effect.gen(function*() {
    const git = yield* GitWorktreeApm.GitWorktreeApm
    const worktree = `${repository.worktrees}/wt-${id}`
    yield* git.traceGit(repository.gitOk(repository.root, "status", "--porcelain"), "status")
    yield* git.traceWorktree(
      turns.withPermit(repository.gitOk(repository.root, "worktree", "add", "-q", "-b", `wt-${id}`, worktree)),
      "add"
    )
    yield* git.traceMerge(
      Effect.map(
        repository.git(worktree, "merge", "--no-edit", "main"),
        (r) => ({ conflicts: r.exitCode === 1 ? 1 : 0 })
      )
    )
    yield* git.traceWorktree(
      turns.withPermit(repository.gitOk(repository.root, "worktree", "remove", "--force", worktree)),
      "remove"
    )
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
 * How the simulation runs: `rate` operations per second (each one request to
 * one of the five services, model routing twice as often as the others), the
 * fault if any, and the seed of every random choice.
 *
 * @category models
 * @since 0.1.0
 */
export interface WorkloadOptions {
  readonly rate: number
  readonly fault: Option.Option<FaultSchedule>
  readonly seed: number
  /** A real repository for the git worktree service; without one its commands are simulated. */
  readonly git?: GitRepositoryService | undefined
  /** Where plan management keeps its plans; without one, in the process. */
  readonly plans?: PlanStoreService | undefined
}

/**
 * Starts one operation every `1 / rate` seconds until interrupted, each in a
 * fiber of its own, so a slowdown piles work up as it would in a service
 * (an open workload) instead of slowing the arrivals down. Operation `i`
 * draws from a generator seeded with the seed and `i`, so that the same seed
 * makes the same choices however the concurrent operations interleave.
 * Errors of the simulated work are recorded by the APMs and then dropped, as
 * a service would answer them and go on.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = (options: WorkloadOptions) =>
  Effect.gen(function*() {
    const started = yield* Clock.currentTimeMillis
    const faulty = Option.match(options.fault, {
      onNone: () => Effect.succeed(false),
      onSome: (fault) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const elapsed = now - started
          const start = Duration.toMillis(fault.start)
          return elapsed >= start && elapsed < start + Duration.toMillis(fault.length)
        })
    })
    let worktrees = 0
    const repository = options.git
    const turns = yield* Semaphore.make(1)
    // At most two real git workflows at a time, each run to its end: an arrival finding both busy is skipped, so no
    // queue builds up on a slow machine and the demo's end interrupts no git command half done.
    const slots = yield* Semaphore.make(2)
    const gitWorktree = repository === undefined
      ? simulatedGitWorktree
      : Effect.asVoid(
        slots.withPermitsIfAvailable(1)(
          Effect.uninterruptible(Effect.suspend(() => realGitWorktree(repository, turns, worktrees++)))
        )
      )
    const operations: ReadonlyArray<Effect.Effect<void, unknown, ServiceApms>> = [
      modelRouter(faulty),
      modelRouter(faulty),
      planManagement(faulty, options.plans ?? makeMemory("none given")),
      gitWorktree,
      workflowOrchestrator,
      verificationFeedback
    ]
    let next = 0
    const arrival = Effect.suspend(() => {
      const operation = Effect.flatMap(
        Random.nextIntBetween(0, operations.length, { halfOpen: true }),
        (i) => Effect.ignore(operations[i]!)
      )
      return Effect.forkChild(Random.withSeed(operation, `${options.seed}/${next++}`))
    })
    yield* Effect.repeat(arrival, Schedule.fixed(Duration.millis(1000 / options.rate)))
  })

type ServiceApms =
  | ModelRouterApm.ModelRouterApm
  | PlanManagementApm.PlanManagementApm
  | GitWorktreeApm.GitWorktreeApm
  | WorkflowOrchestratorApm.WorkflowOrchestratorApm
  | VerificationFeedbackApm.VerificationFeedbackApm
