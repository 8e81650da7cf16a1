/**
 * The embedded PostgreSQL of the tests and the demo: started in a temporary
 * directory on 127.0.0.1, stopped and removed with its scope, and also when
 * the process that started it is killed outright (SIGKILL runs no
 * finalizer): its watchdog stops the server and removes the directory.
 */
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { connect } from "node:net"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as EmbeddedPostgres from "../src/EmbeddedPostgres.ts"

const fixture = fileURLToPath(new URL("./fixtures/postgres-program.ts", import.meta.url))

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Polls `check` every 100 ms until it holds, for up to 20 s (a loaded machine). */
const eventually = async (check: () => Promise<boolean> | boolean): Promise<boolean> => {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

describe("EmbeddedPostgres", () => {
  it.live("serves on 127.0.0.1 for its scope, then is stopped and removed", () =>
    Effect.gen(function*() {
      const pg = yield* Effect.scoped(Effect.gen(function*() {
        const pg = yield* EmbeddedPostgres.start
        assert.strictEqual(pg.host, "127.0.0.1")
        assert.match(pg.version, /^\d+$/)
        assert.isTrue(existsSync(join(pg.directory, "server.log")))
        const rows = yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          return yield* sql<{ answer: number }>`SELECT 42 AS answer`
        }).pipe(
          Effect.provide(PgClient.layer({ host: pg.host, port: pg.port, database: pg.database, username: pg.username }))
        )
        assert.deepStrictEqual(rows, [{ answer: 42 }])
        return pg
      }))
      assert.isFalse(existsSync(pg.directory))
      assert.isFalse(yield* Effect.promise(() => accepts(pg.port)))
    }).pipe(Effect.orDie), { timeout: 60_000 })

  it("a process killed outright leaves no server and no directory behind", { timeout: 60_000 }, async () => {
    const child = spawn(process.execPath, [fixture], { stdio: ["ignore", "pipe", "inherit"] })
    const started = await new Promise<{ port: number; directory: string }>((resolve, reject) => {
      let out = ""
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        out += text
        const line = out.split("\n").find((l) => l.startsWith("{"))
        if (line !== undefined) resolve(JSON.parse(line))
      })
      child.once("exit", (code) => reject(new Error(`the fixture exited (${code}) before starting PostgreSQL: ${out}`)))
    })
    assert.isTrue(existsSync(started.directory))
    assert.isTrue(await accepts(started.port))
    child.kill("SIGKILL")
    assert.isTrue(await eventually(async () => !(await accepts(started.port))), "the server stopped")
    assert.isTrue(await eventually(() => !existsSync(started.directory)), "its directory removed")
  })
})
