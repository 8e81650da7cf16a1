/**
 * A service on the live stack, configured from the environment: a little
 * traced work, then a normal end. BaselineChildProcess.test.ts runs it with
 * APM_BASELINE_FILE on paths that cannot be written.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Apm } from "@mcp-apm/core"
import { Effect } from "effect"
import { ApmLive } from "../src/index.ts"

const main = Effect.gen(function*() {
  for (let i = 0; i < 5; i++) yield* Apm.trace(Effect.sleep("1 millis"), "fixture_work", "custom_operation")
})

NodeRuntime.runMain(main.pipe(Effect.provide(ApmLive)))
