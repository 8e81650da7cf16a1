#!/usr/bin/env node
/**
 * The `mcp-apm` command-line program (`npx mcp-apm detect FILE.csv`, `npm start`): the
 * commands of `../cli`, run on Node with its file system and standard I/O.
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { runCli } from "../cli/Cli.ts"

NodeRuntime.runMain(runCli.pipe(Effect.provide(NodeServices.layer)))
