/**
 * A real temporary git repository for the demo's git worktree service, as
 * its tests use one: the demo's `git status`, `git worktree add`, `git
 * merge` and `git worktree remove` are real commands whose durations and
 * failures the APM sees. The repository lives in a temporary directory for
 * as long as the layer, and is removed with it.
 *
 * @since 0.1.0
 */
import { Context, Effect, FileSystem, Layer, Path, Schema } from "effect"
import { execFile } from "node:child_process"

/**
 * A git command that could not start or exited with an error.
 *
 * @category errors
 * @since 0.1.0
 */
export class GitError extends Schema.TaggedError<GitError>()("GitError", {
  command: Schema.String,
  exitCode: Schema.NullOr(Schema.Int),
  stderr: Schema.String
}) {
  override get message() {
    return `git ${this.command} failed${
      this.exitCode === null ? "" : ` (exit ${this.exitCode})`
    }: ${this.stderr.trim()}`
  }
}

/**
 * @category models
 * @since 0.1.0
 */
export interface GitRepositoryService {
  /** The repository's main worktree. */
  readonly root: string
  /** Where the demo's extra worktrees go. */
  readonly worktrees: string
  /** Runs `git ...args` in `cwd`; its exit code and stdout, or a `GitError` when it cannot start. */
  readonly git: (
    cwd: string,
    ...args: ReadonlyArray<string>
  ) => Effect.Effect<{ exitCode: number; stdout: string }, GitError>
  /** Like `git`, but a non-zero exit is a `GitError` too. */
  readonly gitOk: (cwd: string, ...args: ReadonlyArray<string>) => Effect.Effect<string, GitError>
}

/**
 * @category services
 * @since 0.1.0
 */
export class GitRepository extends Context.Service<GitRepository, GitRepositoryService>()(
  "@mcp-apm/runtime/demo/GitRepository"
) {
  /** A fresh repository with one commit on `main`, in a temporary directory removed with the layer. */
  static readonly layer = Layer.effect(
    GitRepository,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const directory = yield* fs.makeTempDirectoryScoped({ prefix: "mcp-apm-demo-git-" })
      const root = path.join(directory, "repo")
      const worktrees = path.join(directory, "worktrees")
      yield* fs.makeDirectory(root)
      yield* fs.makeDirectory(worktrees)
      // no user or system configuration: the same repository on every machine
      const env = {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        HOME: directory,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_AUTHOR_NAME: "mcp-apm demo",
        GIT_AUTHOR_EMAIL: "demo@mcp-apm.invalid",
        GIT_COMMITTER_NAME: "mcp-apm demo",
        GIT_COMMITTER_EMAIL: "demo@mcp-apm.invalid"
      }
      const git = (cwd: string, ...args: ReadonlyArray<string>) =>
        Effect.callback<{ exitCode: number; stdout: string; stderr: string }, GitError>((resume) => {
          const child = execFile("git", [...args], { cwd, env }, (error, stdout, stderr) => {
            const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : undefined
            resume(
              exitCode === undefined
                ? Effect.fail(new GitError({ command: args.join(" "), exitCode: null, stderr: String(error?.message) }))
                : Effect.succeed({ exitCode, stdout: String(stdout), stderr: String(stderr) })
            )
          })
          // Interrupted (the end of the run): a git still writing into the repository would race its removal.
          return Effect.callback<void>((exited) => {
            if (child.exitCode === null && child.signalCode === null) {
              child.once("exit", () => exited(Effect.void))
              child.kill("SIGKILL")
            } else {
              exited(Effect.void)
            }
          })
        })
      const gitOk = (cwd: string, ...args: ReadonlyArray<string>) =>
        Effect.flatMap(git(cwd, ...args), (r) =>
          r.exitCode === 0
            ? Effect.succeed(r.stdout)
            : Effect.fail(new GitError({ command: args.join(" "), exitCode: r.exitCode, stderr: r.stderr })))
      yield* gitOk(root, "init", "-q", "-b", "main")
      yield* fs.writeFileString(path.join(root, "README.md"), "# a repository of the mcp-apm demo\n")
      yield* gitOk(root, "add", "README.md")
      yield* gitOk(root, "commit", "-q", "-m", "initial")
      return GitRepository.of({ root, worktrees, git, gitOk })
    })
  )
}
