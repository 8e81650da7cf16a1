/**
 * A service on the live stack, configured from the environment: a few traced
 * operations (FIXTURE_OPERATIONS, 5 by default), then a normal end.
 * BaselineChildProcess.test.ts runs it with APM_BASELINE_FILE on paths that
 * cannot be written, and as two processes sharing one file.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Apm } from "@mcp-apm/core"
import { Config, Effect } from "effect"
import { ApmLive } from "../src/index.ts"

const main = Effect.gen(function*() {
  const operations = yield* Config.Int("FIXTURE_OPERATIONS").pipe(Config.withDefault(5))
  for (let i = 0; i < operations; i++) yield* Apm.trace(Effect.sleep("2 millis"), "fixture_work", "custom_operation")
})

NodeRuntime.runMain(main.pipe(Effect.provide(ApmLive)))
