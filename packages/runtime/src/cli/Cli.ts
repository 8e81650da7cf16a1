/**
 * The `mcp-apm` command-line program: `detect` scores a CSV series offline,
 * `demo` runs the monitored MCP simulation.
 */
import { Command } from "effect/cli"
import { demoCommand } from "./DemoCommand.ts"
import { detectCommand } from "./DetectCommand.ts"

/**
 * @category commands
 * @since 0.1.0
 */
export const mcpApmCommand = Command.make("mcp-apm").pipe(
  Command.withDescription("mcp-apm: APM for Effect services"),
  Command.withSubcommands([detectCommand, demoCommand])
)

/** Runs the program on the process arguments. */
export const runCli = Command.run(mcpApmCommand, { version: "0.1.0" })
