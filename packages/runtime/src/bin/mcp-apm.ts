#!/usr/bin/env node
/**
 * The `mcp-apm` command-line program (`npx mcp-apm detect FILE.csv`, `npm start`): the
 * commands of `../cli`, run on Node with its file system and standard I/O.
 * `Cli.main` reports failures itself, on stderr; the teardown gives SIGINT and
 * SIGTERM their conventional exit codes.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { main } from "../cli/Cli.ts"
import * as SignalExit from "../cli/SignalExit.ts"

// A reader that went away (`mcp-apm demo | head`) is no reason to crash: the output just has nowhere to go.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error
})

NodeRuntime.runMain(main.pipe(Effect.provide(NodeServices.layer)), {
  disableErrorReporting: true,
  teardown: SignalExit.install()
})
