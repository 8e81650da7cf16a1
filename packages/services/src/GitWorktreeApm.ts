/**
 * The APM of the git worktree service: git commands by subcommand, worktree
 * management, merges (clean or with conflicts), file-system operations and
 * the size of each worktree on disk.
 *
 * The service traces the effects its caller gives it and does not run git
 * itself. It reads the disk through Effect's `FileSystem` and `Path`, so it
 * stays platform-agnostic: Node programs provide them with
 * `@effect/platform-node`'s `NodeServices.layer`.
 *
 * An unknown subcommand, action or operation, or a worktree name that is
 * not a bounded name, folds into `other`; a merge whose conflict count is
 * not a whole number of at least 0 is counted with the outcome `other`.
 * Each is counted in `apm_invalid_observations_total` and warned about at
 * most once a minute, and the traced effect's outcome is left as it was;
 * `layer({ strict: true })` fails with `InvalidObservation` instead.
 *
 * @since 0.1.0
 */
import { Apm, PerformanceMetrics } from "@mcp-apm/core"
import type { CappedLabel } from "@mcp-apm/core"
import { Context, Effect, Exit, FileSystem, Layer, Path } from "effect"
import { dual } from "effect/Function"
import type { PlatformError } from "effect/PlatformError"
import type { InvalidObservation } from "./InvalidObservation.ts"
import { cappedLabel, overflowLabel } from "./internal/labels.ts"
import { counter, durationHistogram, gauge, update } from "./internal/metrics.ts"
import { annotate, traceOperation, withCurrentSpan } from "./internal/operation.ts"
import * as Validator from "./internal/validate.ts"

const service = "git_worktree"

const { statusOf } = PerformanceMetrics

/**
 * The git subcommands `traceGit` accepts.
 *
 * @category models
 * @since 0.1.0
 */
export const subcommands = [
  "add",
  "am",
  "apply",
  "bisect",
  "blame",
  "branch",
  "checkout",
  "cherry-pick",
  "clean",
  "clone",
  "commit",
  "config",
  "describe",
  "diff",
  "fetch",
  "gc",
  "grep",
  "init",
  "log",
  "ls-files",
  "ls-remote",
  "merge",
  "merge-base",
  "mv",
  "pull",
  "push",
  "rebase",
  "reflog",
  "remote",
  "reset",
  "restore",
  "rev-parse",
  "revert",
  "rm",
  "show",
  "stash",
  "status",
  "submodule",
  "switch",
  "tag",
  "worktree"
] as const

/**
 * @category models
 * @since 0.1.0
 */
export type Subcommand = typeof subcommands[number]

/**
 * The `git worktree` actions.
 *
 * @category models
 * @since 0.1.0
 */
export const worktreeActions = ["add", "remove", "list", "prune", "move", "lock", "unlock", "repair"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type WorktreeAction = typeof worktreeActions[number]

/**
 * File-system operations on worktrees.
 *
 * @category models
 * @since 0.1.0
 */
export const fileSystemOperations = ["read", "write", "copy", "remove", "stat", "scan", "measure_size"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type FileSystemOperation = typeof fileSystemOperations[number]

/**
 * Name and description of each metric.
 *
 * @category constants
 * @since 0.1.0
 */
export const definitions = {
  operations: {
    name: "git_worktree_operations_total",
    description: "Git operations finished, by operation (subcommand, or worktree_<action>) and status"
  },
  operationDuration: {
    name: "git_worktree_operation_duration_seconds",
    description: "Duration of git operations in seconds, by operation"
  },
  worktreeSize: {
    name: "git_worktree_worktree_size_bytes",
    description: "Size of the files of a worktree on disk (apparent size, without .git), in bytes, by worktree"
  },
  merges: {
    name: "git_worktree_merges_total",
    description: "Merges finished, by outcome (clean, conflict, failed)"
  },
  fileSystemDuration: {
    name: "git_worktree_filesystem_duration_seconds",
    description: "Duration of file-system operations on worktrees in seconds, by operation"
  }
} as const

const metrics = {
  operations: counter(definitions.operations),
  operationDuration: durationHistogram(definitions.operationDuration),
  worktreeSize: gauge(definitions.worktreeSize),
  merges: counter(definitions.merges),
  fileSystemDuration: durationHistogram(definitions.fileSystemDuration)
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Distinct worktree names kept as label values; later ones fold into `other`. */
  readonly maxWorktrees?: number | undefined
  /** Fail with `InvalidObservation` on a value that cannot be recorded, instead of folding or dropping it. For tests. */
  readonly strict?: boolean | undefined
}

/**
 * What a merge effect returns: the number of conflicted files (0 for a clean merge).
 *
 * @category models
 * @since 0.1.0
 */
export interface MergeResult {
  readonly conflicts: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface WorktreeSize {
  /** Apparent size: the sum of the sizes of the regular files. */
  readonly bytes: number
  /** Allocated size, where the platform reports blocks. */
  readonly allocatedBytes: number | undefined
  readonly files: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface GitWorktreeApmService {
  readonly traceGit: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    subcommand: Subcommand
  ) => Effect.Effect<A, E | InvalidObservation, R>
  readonly traceWorktree: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    action: WorktreeAction
  ) => Effect.Effect<A, E | InvalidObservation, R>
  /** Traces a merge; its result says whether it left conflicts. */
  readonly traceMerge: <A extends MergeResult, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R>
  readonly traceFileSystem: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    operation: FileSystemOperation
  ) => Effect.Effect<A, E | InvalidObservation, R>
  /** Measures the worktree at `path` on disk and records it as the worktree `name`. */
  readonly measureWorktreeSize: (
    path: string,
    name: string
  ) => Effect.Effect<WorktreeSize, PlatformError | InvalidObservation>
}

/**
 * @category services
 * @since 0.1.0
 */
export class GitWorktreeApm extends Context.Service<GitWorktreeApm, GitWorktreeApmService>()(
  "@mcp-apm/services/GitWorktreeApm"
) {}

/**
 * What the service records into and reads the disk through.
 *
 * @category models
 * @since 0.1.0
 */
export interface Parts {
  readonly apm: Apm.ApmService
  readonly fileSystem: FileSystem.FileSystem
  readonly path: Path.Path
}

/**
 * What one service instance keeps: its parts, checks and worktree label
 * cap. Each method of the service is the function `<method>In` below, over
 * it.
 */
interface GitTracer extends Parts {
  readonly validate: Validator.Validator
  readonly worktreeLabels: CappedLabel.CappedLabel
}

// Commands and worktree actions are counted and timed alike, by `operation`.
const gitOperation = <A, E, R>(
  git: GitTracer,
  self: Effect.Effect<A, E, R>,
  operation: string,
  spanName: string,
  attributes: Record<string, string>
) =>
  traceOperation(git.apm, self, spanName, "git_operation", attributes, (seconds, exit) =>
    Effect.all([
      update(metrics.operations, { operation, status: statusOf(exit) }, 1),
      update(metrics.operationDuration, { operation }, seconds)
    ], { discard: true }))

const traceGitIn = <A, E, R>(git: GitTracer, self: Effect.Effect<A, E, R>, subcommand: Subcommand) =>
  Effect.flatMap(
    git.validate.oneOf("subcommand", subcommand, subcommands),
    (sub) => gitOperation(git, self, sub, `git ${sub}`, { "mcp.git_worktree.subcommand": sub })
  )

const traceWorktreeIn = <A, E, R>(git: GitTracer, self: Effect.Effect<A, E, R>, action: WorktreeAction) =>
  Effect.flatMap(
    git.validate.oneOf("action", action, worktreeActions),
    (act) =>
      gitOperation(git, self, `worktree_${act}`, `git worktree ${act}`, {
        "mcp.git_worktree.subcommand": "worktree",
        "mcp.git_worktree.worktree.action": act
      })
  )

const traceMergeIn = <A extends MergeResult, E, R>(git: GitTracer, self: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    // A merge whose conflict count is invalid is still counted, with an outcome of `other`.
    let outcome = "failed"
    const recordConflicts = (result: A) =>
      Effect.flatMap(
        git.validate.count("conflicts", Validator.fieldOf(result, "conflicts")),
        (conflicts) =>
          withCurrentSpan((span) => {
            outcome = conflicts === undefined ? overflowLabel : conflicts === 0 ? "clean" : "conflict"
            annotate(span, {
              "mcp.git_worktree.merge.conflicts": conflicts,
              "mcp.git_worktree.merge.outcome": outcome
            })
            return Effect.void
          })
      )
    return gitOperation(git, Effect.tap(self, recordConflicts), "merge", "git merge", {
      "mcp.git_worktree.subcommand": "merge"
    }).pipe(Effect.onExit((exit) => update(metrics.merges, { outcome: Exit.isSuccess(exit) ? outcome : "failed" }, 1)))
  })

const traceFileSystemIn = <A, E, R>(git: GitTracer, self: Effect.Effect<A, E, R>, operation: FileSystemOperation) =>
  Effect.flatMap(git.validate.oneOf("operation", operation, fileSystemOperations), (op) =>
    traceOperation(
      git.apm,
      self,
      `git_worktree.filesystem.${op}`,
      "git_operation",
      { "mcp.git_worktree.filesystem.operation": op },
      (seconds) => update(metrics.fileSystemDuration, { operation: op }, seconds)
    ))

/** The apparent and allocated size of the regular files under `root`, without its `.git`. */
const sizeOf = ({ fileSystem, path }: Parts, root: string): Effect.Effect<WorktreeSize, PlatformError> => {
  let bytes = 0
  let allocated: number | undefined = 0
  let files = 0
  const walk = (dir: string, top: boolean): Effect.Effect<void, PlatformError> =>
    Effect.flatMap(fileSystem.readDirectoryEntries(dir), (entries) =>
      Effect.forEach(entries, (entry) => {
        // The repository database is shared by all worktrees of a repository, not part of one.
        if (top && entry.name === ".git") return Effect.void
        const full = path.join(dir, entry.name)
        if (entry.type === "Directory") return walk(full, false)
        if (entry.type !== "File") return Effect.void
        return Effect.map(fileSystem.stat(full), (info) => {
          files++
          bytes += Number(info.size)
          allocated = allocated === undefined || info.blocks._tag === "None"
            ? undefined
            : allocated + Number(info.blocks.value) * 512
        })
      }, { concurrency: 8, discard: true }))
  return Effect.map(walk(root, true), () => ({ bytes, allocatedBytes: allocated, files }))
}

const measureWorktreeSizeIn = (git: GitTracer, root: string, name: string) =>
  Effect.flatMap(git.validate.token("name", name), (checked) => {
    const label = git.worktreeLabels.bound(checked)
    const measured = sizeOf(git, root).pipe(Effect.tap((size) =>
      Effect.annotateCurrentSpan({
        "mcp.git_worktree.worktree.name": checked,
        "mcp.git_worktree.worktree.size_bytes": size.bytes,
        "mcp.git_worktree.worktree.files": size.files
      })
    ))
    return traceFileSystemIn(git, measured, "measure_size").pipe(
      Effect.tap((size) => update(metrics.worktreeSize, { worktree: label }, size.bytes))
    )
  })

/**
 * The service recording into `parts.apm` and reading the disk through its
 * `fileSystem` and `path`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (parts: Parts, options: Options = {}): GitWorktreeApmService => {
  const git: GitTracer = {
    ...parts,
    validate: Validator.make(service, options),
    worktreeLabels: cappedLabel(options.maxWorktrees)
  }
  return GitWorktreeApm.of({
    traceGit: (self, subcommand) => traceGitIn(git, self, subcommand),
    traceWorktree: (self, action) => traceWorktreeIn(git, self, action),
    traceMerge: (self) => traceMergeIn(git, self),
    traceFileSystem: (self, operation) => traceFileSystemIn(git, self, operation),
    measureWorktreeSize: (path, name) => measureWorktreeSizeIn(git, path, name)
  })
}

/**
 * The service over the `Apm`, `FileSystem` and `Path` in context.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options = {}
): Layer.Layer<GitWorktreeApm, never, Apm.Apm | FileSystem.FileSystem | Path.Path> =>
  Layer.effect(
    GitWorktreeApm,
    Effect.gen(function*() {
      const parts = { apm: yield* Apm.Apm, fileSystem: yield* FileSystem.FileSystem, path: yield* Path.Path }
      return make(parts, options)
    })
  )

/**
 * Traces one git command by its subcommand.
 *
 * @example
 * ```ts
 * const fetched = runGit(["fetch", "origin"]).pipe(GitWorktreeApm.traceGit("fetch"))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceGit: {
  (subcommand: Subcommand): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | GitWorktreeApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    subcommand: Subcommand
  ): Effect.Effect<A, E | InvalidObservation, R | GitWorktreeApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, subcommand: Subcommand) =>
    GitWorktreeApm.use((apm) => apm.traceGit(self, subcommand))
)

/**
 * Traces one `git worktree` action.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceWorktree: {
  (action: WorktreeAction): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | GitWorktreeApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    action: WorktreeAction
  ): Effect.Effect<A, E | InvalidObservation, R | GitWorktreeApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, action: WorktreeAction) =>
    GitWorktreeApm.use((apm) => apm.traceWorktree(self, action))
)

/**
 * Traces a merge whose result counts the conflicted files.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceMerge = <A extends MergeResult, E, R>(
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | InvalidObservation, R | GitWorktreeApm> => GitWorktreeApm.use((apm) => apm.traceMerge(self))

/**
 * Traces a file-system operation on a worktree.
 *
 * @category combinators
 * @since 0.1.0
 */
export const traceFileSystem: {
  (operation: FileSystemOperation): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | InvalidObservation, R | GitWorktreeApm>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    operation: FileSystemOperation
  ): Effect.Effect<A, E | InvalidObservation, R | GitWorktreeApm>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, operation: FileSystemOperation) =>
    GitWorktreeApm.use((apm) => apm.traceFileSystem(self, operation))
)

/**
 * Measures the worktree at `path` on disk and records its size as the worktree `name`.
 *
 * @category recording
 * @since 0.1.0
 */
export const measureWorktreeSize = (
  path: string,
  name: string
): Effect.Effect<WorktreeSize, PlatformError | InvalidObservation, GitWorktreeApm> =>
  GitWorktreeApm.use((apm) => apm.measureWorktreeSize(path, name))
