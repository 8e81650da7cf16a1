/**
 * A throwaway PostgreSQL server for tests, benchmarks and demos: the
 * machine's own PostgreSQL (Debian's `postgresql` package, which `.ci/run`
 * installs), a cluster made by `initdb` in a temporary directory, listening
 * on 127.0.0.1 and a free port only, stopped and removed when the scope
 * closes. PostgreSQL refuses to run as root, so under root (CI) the server
 * runs as `nobody`. A machine without PostgreSQL fails with an error that
 * says what is missing. A process that dies without closing the scope (a
 * SIGKILL, a second Ctrl-C) still has the server stopped and its directory
 * removed, by a watchdog.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import type { Scope } from "effect"
import { execFile, spawn } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import type { Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * PostgreSQL is not installed, or a step of starting it failed; the message says which.
 *
 * @category errors
 * @since 0.1.0
 */
export class PostgresError extends Data.TaggedError("PostgresError")<{ readonly message: string }> {}

/**
 * Where the server listens, and whom to connect as (trust authentication, no password).
 *
 * @category models
 * @since 0.1.0
 */
export interface Postgres {
  /** The major version, as installed (`15`). */
  readonly version: string
  readonly host: string
  readonly port: number
  readonly database: string
  readonly username: string
  /** The temporary directory of the cluster, its socket and `server.log`; removed with the scope. */
  readonly directory: string
}

const debianRoot = "/usr/lib/postgresql"

/** The newest installed PostgreSQL's major version. */
const newestVersion = (): string | undefined => {
  if (!existsSync(debianRoot)) return undefined
  const versions = readdirSync(debianRoot).filter((v) => existsSync(join(debianRoot, v, "bin", "initdb")))
  versions.sort((a, b) => Number(b) - Number(a))
  return versions[0]
}

/**
 * Whether `start` finds a PostgreSQL to run.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isInstalled = (): boolean => newestVersion() !== undefined

/**
 * Stops the server and removes `directory` once this process is gone, however
 * it goes (a SIGKILL, a shutdown deadline's exit) without closing the scope:
 * a shell that waits on a pipe from this process sees it close when the
 * process dies, and sends SIGQUIT, PostgreSQL's immediate shutdown, to the
 * postmaster whose pid heads `postmaster.pid`. A scope that closes kills
 * the watchdog after stopping the server itself.
 */
const watchdog = (directory: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const script =
        `read -r _; kill -QUIT "$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$1"`
      const child = spawn("sh", ["-c", script, "sh", directory], {
        detached: true,
        stdio: ["pipe", "ignore", "ignore"]
      })
      child.on("error", () => {})
      child.unref()
      // the pipe must not keep this process alive either
      const pipe = child.stdin as Socket
      pipe.unref()
      return child
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const freePort = Effect.callback<number, PostgresError>((resume) => {
  const server = createServer()
  server.once("error", (error) => resume(Effect.fail(new PostgresError({ message: `no free port: ${error.message}` }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const asRoot = process.getuid?.() === 0

/** Runs a PostgreSQL program, as `nobody` under root. */
const run = (program: string, args: ReadonlyArray<string>) =>
  Effect.callback<void, PostgresError>((resume) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "nobody", "--", program, ...args]] : [program, [...args]]
    execFile(file, argv, { timeout: 30_000 }, (error, _stdout, stderr) => {
      resume(
        error === null
          ? Effect.void
          : Effect.fail(
            new PostgresError({ message: `${program} ${args.join(" ")} failed: ${error.message} ${stderr}` })
          )
      )
    })
  })

/**
 * Starts a server for the current scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start: Effect.Effect<Postgres, PostgresError, Scope.Scope> = Effect.gen(function*() {
  const version = newestVersion()
  if (version === undefined) {
    return yield* new PostgresError({
      message: `PostgreSQL is not installed (no ${debianRoot}/<version>/bin/initdb): apt-get install postgresql`
    })
  }
  const bin = join(debianRoot, version, "bin")
  const directory = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "mcp-apm-pg-"))
      if (asRoot) chownSync(dir, 65534, 65534)
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  yield* watchdog(directory)
  const data = join(directory, "data")
  yield* run(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
  const port = yield* freePort
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${directory} -c fsync=off -c full_page_writes=off`
  yield* Effect.acquireRelease(
    run(join(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", join(directory, "server.log"), "-w", "start"]),
    () => run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]).pipe(Effect.ignore)
  )
  return { version, host: "127.0.0.1", port, database: "postgres", username: "postgres", directory }
})
