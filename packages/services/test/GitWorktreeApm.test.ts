import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { assert, describe, it } from "@effect/vitest"

import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { Effect, FileSystem, Layer } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { GitWorktreeApm } from "../src/index.ts"
import { git, gitOk } from "./support/git.ts"
import { series } from "./support/metrics.ts"
import {
  assertOutcomeUnchanged,
  capturingWarnings,
  hostileValue,
  invalidCount,
  outcomes
} from "./support/observations.ts"
import { exposition, prometheusName } from "./support/prometheus.ts"
import { ApmRecorder, ApmTest, MetricSeries } from "@mcp-apm/core/testing"

const Platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)
const TestLayer = GitWorktreeApm.layer().pipe(
  Layer.provideMerge(Layer.merge(ApmTest.layer(), Platform))
)
const StrictLayer = GitWorktreeApm.layer({ strict: true }).pipe(
  Layer.provideMerge(Layer.merge(ApmTest.layer(), Platform))
)

/** The apparent size of the files under `dir`, without the top-level .git, by node:fs. */
const duApparent = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !file.startsWith(join(dir, ".git")))
    .reduce((sum, file) => sum + statSync(file).size, 0)

/** `git merge` as a merge effect: the count of conflicted files, or a failure if git failed otherwise. */
const merge = (cwd: string, branch: string) =>
  Effect.gen(function*() {
    const result = yield* git(cwd, "merge", "--no-edit", branch)
    if (result.exitCode === 0) return { conflicts: 0 }
    const unmerged = (yield* gitOk(cwd, "diff", "--name-only", "--diff-filter=U")).split("\n").filter(Boolean)
    if (unmerged.length === 0) return yield* Effect.fail(new Error(result.stderr))
    return { conflicts: unmerged.length }
  })

/** A repository with one commit on `main`, in a temp directory removed after the test. */
const makeRepository = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const root = yield* fs.makeTempDirectoryScoped({ prefix: "mcp-apm-git-" })
  const repo = join(root, "repo")
  yield* fs.makeDirectory(repo)
  yield* gitOk(repo, "init", "-q", "-b", "main").pipe(GitWorktreeApm.traceGit("init"))
  yield* fs.writeFileString(join(repo, "README.md"), "hello\n")
  yield* gitOk(repo, "add", "README.md").pipe(GitWorktreeApm.traceGit("add"))
  yield* gitOk(repo, "commit", "-q", "-m", "initial").pipe(GitWorktreeApm.traceGit("commit"))
  return { root, repo }
})

describe("GitWorktreeApm", () => {
  it.live("traces worktrees, a clean merge and a conflicting one on a real repository", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { repo, root } = yield* makeRepository
      const feature = join(root, "wt-feature")
      const other = join(root, "wt-other")

      yield* gitOk(repo, "worktree", "add", "-q", "-b", "feature", feature).pipe(GitWorktreeApm.traceWorktree("add"))
      yield* gitOk(repo, "worktree", "add", "-q", "-b", "other", other).pipe(GitWorktreeApm.traceWorktree("add"))
      const listed = yield* gitOk(repo, "worktree", "list", "--porcelain").pipe(GitWorktreeApm.traceWorktree("list"))
      assert.strictEqual(listed.split("\n").filter((l) => l.startsWith("worktree ")).length, 3)

      // feature: adds a 10 kB file; other: changes README.md's line, as main will.
      yield* fs.writeFile(join(feature, "data.bin"), new Uint8Array(10_000).fill(7))
      yield* gitOk(feature, "add", "data.bin").pipe(GitWorktreeApm.traceGit("add"))
      yield* gitOk(feature, "commit", "-q", "-m", "data").pipe(GitWorktreeApm.traceGit("commit"))
      yield* fs.writeFileString(join(other, "README.md"), "hello from other\n")
      yield* gitOk(other, "commit", "-q", "-am", "other").pipe(GitWorktreeApm.traceGit("commit"))
      yield* fs.writeFileString(join(repo, "README.md"), "hello from main\n")
      yield* gitOk(repo, "commit", "-q", "-am", "main").pipe(GitWorktreeApm.traceGit("commit"))

      const size = yield* GitWorktreeApm.measureWorktreeSize(feature, "feature")
      assert.strictEqual(size.bytes, 10_000 + "hello\n".length)
      assert.strictEqual(size.bytes, duApparent(feature))
      assert.strictEqual(size.files, 2)
      if (size.allocatedBytes !== undefined) assert.isAtLeast(size.allocatedBytes, 10_000)

      const clean = yield* merge(repo, "feature").pipe(GitWorktreeApm.traceMerge)
      assert.strictEqual(clean.conflicts, 0)
      const conflicted = yield* merge(repo, "other").pipe(GitWorktreeApm.traceMerge)
      assert.strictEqual(conflicted.conflicts, 1)
      yield* gitOk(repo, "merge", "--abort").pipe(GitWorktreeApm.traceGit("merge"))

      yield* gitOk(repo, "worktree", "remove", other).pipe(GitWorktreeApm.traceWorktree("remove"))
      yield* fs.remove(feature, { recursive: true })
      yield* gitOk(repo, "worktree", "prune").pipe(GitWorktreeApm.traceWorktree("prune"))
      const after = yield* gitOk(repo, "worktree", "list", "--porcelain").pipe(GitWorktreeApm.traceWorktree("list"))
      assert.strictEqual(after.split("\n").filter((l) => l.startsWith("worktree ")).length, 1)

      // A git command that fails is recorded as an error, by its subcommand.
      const failed = yield* Effect.flip(
        gitOk(repo, "checkout", "-q", "no-such-branch").pipe(GitWorktreeApm.traceGit("checkout"))
      )
      assert.include(failed.message, "no-such-branch")

      const ops = (operation: string, status = "ok") =>
        MetricSeries.value("git_worktree_operations_total", { operation, status })
      assert.strictEqual(yield* ops("init"), 1)
      assert.strictEqual(yield* ops("commit"), 4)
      assert.strictEqual(yield* ops("worktree_add"), 2)
      assert.strictEqual(yield* ops("worktree_list"), 2)
      assert.strictEqual(yield* ops("worktree_remove"), 1)
      assert.strictEqual(yield* ops("worktree_prune"), 1)
      assert.strictEqual(yield* ops("merge"), 3)
      assert.strictEqual(yield* ops("checkout", "error"), 1)
      assert.strictEqual(yield* MetricSeries.value("git_worktree_merges_total", { outcome: "clean" }), 1)
      assert.strictEqual(yield* MetricSeries.value("git_worktree_merges_total", { outcome: "conflict" }), 1)
      const duration = yield* MetricSeries.state("git_worktree_operation_duration_seconds", {
        operation: "worktree_add"
      })
      assert.strictEqual(duration!["count"], 2)
      assert.strictEqual(
        yield* MetricSeries.value("git_worktree_worktree_size_bytes", { worktree: "feature" }),
        size.bytes
      )
      const measured = yield* MetricSeries.state("git_worktree_filesystem_duration_seconds", {
        operation: "measure_size"
      })
      assert.strictEqual(measured!["count"], 1)

      // Labels are subcommands and worktree names, never paths.
      for (const id of ["git_worktree_operations_total", "git_worktree_worktree_size_bytes"]) {
        for (const s of yield* series(id)) {
          for (const value of Object.values(s.attributes)) assert.notInclude(value, root)
        }
      }

      const spans = yield* ApmRecorder.spans
      const merges = spans.filter((s) => s.name === "git merge" && s.attributes["mcp.git_worktree.merge.outcome"])
      assert.deepStrictEqual(merges.map((s) => [s.attributes["mcp.git_worktree.merge.outcome"], s.status]), [
        ["clean", "ok"],
        ["conflict", "ok"]
      ])
      assert.strictEqual(merges[1]!.attributes["mcp.git_worktree.merge.conflicts"], 1)
      const add = spans.find((s) => s.name === "git worktree add")!
      assert.strictEqual(add.attributes["mcp.git_worktree.worktree.action"], "add")
      assert.strictEqual(add.attributes["apm.operation.type"], "git_operation")
      const sizeSpan = spans.find((s) => s.name === "git_worktree.filesystem.measure_size")!
      assert.strictEqual(sizeSpan.attributes["mcp.git_worktree.worktree.size_bytes"], size.bytes)
      const records = yield* ApmRecorder.operations
      assert.strictEqual(records.find((r) => r.operationName === "git checkout")!.status, "error")
    }).pipe(Effect.provide(TestLayer)), 30_000)

  it.live("a merge that fails outright is counted as failed", () =>
    Effect.gen(function*() {
      const { repo } = yield* makeRepository
      const exit = yield* Effect.exit(merge(repo, "no-such-branch").pipe(GitWorktreeApm.traceMerge))
      assert.strictEqual(exit._tag, "Failure")
      assert.strictEqual(yield* MetricSeries.value("git_worktree_merges_total", { outcome: "failed" }), 1)
      assert.strictEqual(
        yield* MetricSeries.value("git_worktree_operations_total", { operation: "merge", status: "error" }),
        1
      )
    }).pipe(Effect.provide(TestLayer)), 30_000)

  it.effect("with strict: true, unknown subcommands, bad merge results and bad worktree names fail with InvalidObservation", () =>
    Effect.gen(function*() {
      const subcommand = yield* Effect.flip(Effect.void.pipe(GitWorktreeApm.traceGit("frobnicate" as never)))
      assert.strictEqual(subcommand._tag, "InvalidObservation")
      assert.strictEqual(subcommand.field, "subcommand")
      const action = yield* Effect.flip(Effect.void.pipe(GitWorktreeApm.traceWorktree("explode" as never)))
      assert.strictEqual(action.field, "action")
      const conflicts = yield* Effect.flip(Effect.succeed({ conflicts: -2 }).pipe(GitWorktreeApm.traceMerge))
      assert.strictEqual(conflicts._tag, "InvalidObservation")
      const name = yield* Effect.flip(GitWorktreeApm.measureWorktreeSize("/tmp", "/tmp/some path"))
      assert.strictEqual(name._tag, "InvalidObservation")
      assert.isUndefined(yield* MetricSeries.value("git_worktree_merges_total", { outcome: "conflict" }))
      assert.isUndefined(yield* MetricSeries.value("git_worktree_worktree_size_bytes"))
    }).pipe(Effect.provide(StrictLayer)))

  it.live("bad input is folded or dropped and counted; the traced effects run and end as they would", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const error = yield* Effect.flip(Effect.fail("no repo").pipe(GitWorktreeApm.traceGit("frobnicate" as never)))
      assert.strictEqual(error, "no repo")
      assert.strictEqual(
        yield* MetricSeries.value("git_worktree_operations_total", { operation: "other", status: "error" }),
        1
      )
      yield* Effect.void.pipe(GitWorktreeApm.traceWorktree("explode" as never))
      assert.strictEqual(
        yield* MetricSeries.value("git_worktree_operations_total", { operation: "worktree_other", status: "ok" }),
        1
      )

      const merged = { conflicts: -2, branch: "feature" }
      assert.strictEqual(yield* Effect.succeed(merged).pipe(GitWorktreeApm.traceMerge), merged)
      assert.strictEqual(yield* MetricSeries.value("git_worktree_merges_total", { outcome: "other" }), 1)
      const mergeSpan = (yield* ApmRecorder.spans).find((s) => s.name === "git merge")!
      assert.strictEqual(mergeSpan.status, "ok")
      assert.strictEqual(mergeSpan.attributes["mcp.git_worktree.merge.outcome"], "other")
      assert.notProperty(mergeSpan.attributes, "mcp.git_worktree.merge.conflicts")

      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "mcp-apm-size-" })
      yield* fs.writeFileString(join(dir, "a.txt"), "12345")
      const size = yield* GitWorktreeApm.measureWorktreeSize(dir, "/tmp/some path")
      assert.strictEqual(size.bytes, 5)
      assert.strictEqual(yield* MetricSeries.value("git_worktree_worktree_size_bytes", { worktree: "other" }), 5)

      for (const field of ["subcommand", "action", "conflicts", "name"]) {
        assert.strictEqual(yield* invalidCount("git_worktree", field), 1, field)
      }
      assert.strictEqual(lines.length, 4)
    }).pipe(capturingWarnings(lines), Effect.provide(TestLayer))
  }, 30_000)

  it.effect("warns at most once a minute per field", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const merge = (conflicts: number) => Effect.succeed({ conflicts }).pipe(GitWorktreeApm.traceMerge)
      yield* merge(-1)
      yield* merge(0.5)
      yield* Effect.void.pipe(GitWorktreeApm.traceGit("frobnicate" as never))
      yield* TestClock.adjust("1 minute")
      yield* merge(Infinity)
      assert.deepStrictEqual(lines, [
        "git_worktree: invalid conflicts=-1: expected a whole number of at least 0",
        "git_worktree: invalid subcommand=\"frobnicate\": expected one of " + GitWorktreeApm.subcommands.join(", "),
        "git_worktree: invalid conflicts=Infinity: expected a whole number of at least 0 (1 more since the last warning)"
      ])
      assert.strictEqual(yield* invalidCount("git_worktree", "conflicts"), 3)
    }).pipe(capturingWarnings(lines), Effect.provide(TestLayer))
  })

  it.effect("for any hostile input, the caller's effect ends exactly as without the APM", () => {
    const inputs = fc.record({
      outcome: outcomes,
      call: fc.constantFrom("git", "worktree", "merge", "filesystem"),
      subcommand: fc.oneof(fc.constantFrom(...GitWorktreeApm.subcommands), hostileValue),
      action: fc.oneof(fc.constantFrom(...GitWorktreeApm.worktreeActions), hostileValue),
      result: fc.oneof(fc.record({ conflicts: hostileValue }), hostileValue),
      operation: fc.oneof(fc.constantFrom(...GitWorktreeApm.fileSystemOperations), hostileValue)
    })
    type Input = typeof inputs extends fc.Arbitrary<infer I> ? I : never
    const trace = (self: Effect.Effect<any, any>, input: Input) => {
      const i = input as any
      switch (input.call) {
        case "git":
          return GitWorktreeApm.traceGit(self, i.subcommand)
        case "worktree":
          return GitWorktreeApm.traceWorktree(self, i.action)
        case "merge":
          return GitWorktreeApm.traceMerge(self)
        case "filesystem":
          return GitWorktreeApm.traceFileSystem(self, i.operation)
      }
    }
    return assertOutcomeUnchanged(inputs, (input) => input.result, trace)
      .pipe(capturingWarnings([]), Effect.provide(TestLayer))
  })

  it.live("every metric has a HELP line in the Prometheus exposition", () =>
    Effect.gen(function*() {
      const { root } = yield* makeRepository
      yield* Effect.succeed({ conflicts: 0 }).pipe(GitWorktreeApm.traceMerge)
      yield* GitWorktreeApm.measureWorktreeSize(join(root, "repo"), "main")
      const { help } = yield* exposition
      for (const d of Object.values(GitWorktreeApm.definitions)) {
        assert.strictEqual(help.get(prometheusName(d.name)), d.description, d.name)
      }
    }).pipe(Effect.provide(TestLayer)), 30_000)
})
