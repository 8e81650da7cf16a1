import { execFile } from "node:child_process"
import { Effect } from "effect"

/** What one git command printed and how it exited. */
export interface GitResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs real `git` in `cwd`. A non-zero exit is a result, not a failure (a
 * conflicting merge exits 1); only a git that cannot start fails.
 */
export const git = (cwd: string, ...args: ReadonlyArray<string>): Effect.Effect<GitResult, Error> =>
  Effect.callback<GitResult, Error>((resume) => {
    execFile("git", [...args], {
      cwd,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: "apm",
        GIT_AUTHOR_EMAIL: "apm@example.com",
        GIT_COMMITTER_NAME: "apm",
        GIT_COMMITTER_EMAIL: "apm@example.com",
        GIT_CONFIG_NOSYSTEM: "1",
        HOME: cwd
      }
    }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : undefined
      if (code === undefined) resume(Effect.fail(error!))
      else resume(Effect.succeed({ exitCode: code, stdout, stderr }))
    })
  })

/** Like `git`, but a non-zero exit fails with git's stderr. */
export const gitOk = (cwd: string, ...args: ReadonlyArray<string>): Effect.Effect<string, Error> =>
  Effect.flatMap(
    git(cwd, ...args),
    (r) => r.exitCode === 0 ? Effect.succeed(r.stdout) : Effect.fail(new Error(`git ${args.join(" ")}: ${r.stderr}`))
  )
