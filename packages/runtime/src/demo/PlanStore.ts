/**
 * Where the demo's plan management service keeps its plans: a table in the
 * embedded PostgreSQL (`EmbeddedPostgres`), reached through `@effect/sql-pg`'s
 * `SqlClient`, so that the APM sees real queries (`INSERT plans`,
 * `SELECT plan_tasks`…) with no code of its own; or, on a machine without
 * PostgreSQL, a store in the process. `description` says which, for the
 * demo's output.
 *
 * The PostgreSQL store writes a plan's tasks one `INSERT` at a time, as a
 * naive store does: the N+1 pattern the APM is there to name.
 *
 * @since 0.1.0
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { SqlClient } from "effect/sql"
import * as EmbeddedPostgres from "../EmbeddedPostgres.ts"

/**
 * A plan: its key and the titles of its tasks, in order.
 *
 * @category models
 * @since 0.1.0
 */
export interface Plan {
  readonly key: string
  readonly tasks: ReadonlyArray<string>
}

/**
 * The store failed to save or load a plan.
 *
 * @category errors
 * @since 0.1.0
 */
export class PlanStoreError extends Schema.TaggedError<PlanStoreError>()("PlanStoreError", {
  message: Schema.String
}) {}

/**
 * @category models
 * @since 0.1.0
 */
export interface PlanStoreService {
  /** One line for the demo's output: where the plans go. */
  readonly description: string
  /** Saves a plan; its id. */
  readonly save: (plan: Plan) => Effect.Effect<number, PlanStoreError>
  readonly load: (id: number) => Effect.Effect<Option.Option<Plan>, PlanStoreError>
}

/** Plans the in-process store keeps; the oldest go first. */
const maxPlans = 10_000

/**
 * A store in the process, for a machine without PostgreSQL; `reason` says
 * why there is none.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeMemory = (reason: string): PlanStoreService => {
  const plans = new Map<number, Plan>()
  let next = 1
  return {
    description: `in process (${reason})`,
    save: (plan) =>
      Effect.sync(() => {
        const id = next++
        plans.set(id, plan)
        if (plans.size > maxPlans) plans.delete(plans.keys().next().value!)
        return id
      }),
    load: (id) => Effect.sync(() => Option.fromUndefinedOr(plans.get(id)))
  }
}

const failed = (what: string) => (error: { readonly message: string }) =>
  new PlanStoreError({ message: `${what}: ${error.message}` })

/**
 * The store over a PostgreSQL database whose tables `createTables` made.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makePostgres = (sql: SqlClient.SqlClient, description: string): PlanStoreService => ({
  description,
  save: (plan) =>
    Effect.gen(function*() {
      const [row] = yield* sql<
        { id: number }
      >`INSERT INTO plans (plan_key, task_count) VALUES (${plan.key}, ${plan.tasks.length}) RETURNING id`
      const id = row!.id
      for (const [position, title] of plan.tasks.entries()) {
        yield* sql`INSERT INTO plan_tasks (plan_id, position, title) VALUES (${id}, ${position}, ${title})`
      }
      return id
    }).pipe(Effect.mapError(failed("saving a plan"))),
  load: (id) =>
    Effect.gen(function*() {
      const [plan] = yield* sql<{ plan_key: string }>`SELECT plan_key FROM plans WHERE id = ${id}`
      if (plan === undefined) return Option.none()
      const tasks = yield* sql<{ title: string }>`SELECT title FROM plan_tasks WHERE plan_id = ${id} ORDER BY position`
      return Option.some({ key: plan.plan_key, tasks: tasks.map((t) => t.title) })
    }).pipe(Effect.mapError(failed("loading a plan")))
})

/**
 * The tables of `makePostgres`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const createTables = (sql: SqlClient.SqlClient) =>
  Effect.andThen(
    sql`CREATE TABLE plans (id serial PRIMARY KEY, plan_key text NOT NULL, task_count int NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`,
    sql`CREATE TABLE plan_tasks (plan_id int NOT NULL REFERENCES plans, position int NOT NULL, title text NOT NULL,
      PRIMARY KEY (plan_id, position))`
  )

const postgres = Effect.gen(function*() {
  const pg = yield* EmbeddedPostgres.start
  const client = yield* Layer.build(PgClient.layer({
    host: pg.host,
    port: pg.port,
    database: pg.database,
    username: pg.username,
    applicationName: "mcp-apm demo"
  }))
  const sql = Context.get(client, SqlClient.SqlClient)
  yield* createTables(sql)
  return makePostgres(sql, `PostgreSQL ${pg.version} at ${pg.host}:${pg.port} (embedded, in a temporary directory)`)
})

/**
 * @category services
 * @since 0.1.0
 */
export class PlanStore extends Context.Service<PlanStore, PlanStoreService>()("@mcp-apm/runtime/demo/PlanStore") {
  /**
   * The PostgreSQL store when a server can be started, else the in-process
   * one, saying why. The server is stopped and its directory removed with
   * the layer.
   */
  static readonly layer: Layer.Layer<PlanStore> = Layer.effect(
    PlanStore,
    postgres.pipe(Effect.catch((error) => Effect.succeed(makeMemory(`no PostgreSQL: ${error.message}`))))
  )

  /** The in-process store, as asked for. */
  static readonly layerMemory: Layer.Layer<PlanStore> = Layer.sync(PlanStore, () => makeMemory("--plans memory"))
}
