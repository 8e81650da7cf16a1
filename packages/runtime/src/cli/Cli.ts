/**
 * The `mcp-apm` command-line program: `detect` scores a CSV series offline,
 * `demo` runs the monitored MCP simulation.
 *
 * Everything the program says about a failure goes to standard error, so that
 * standard output stays the command's data (a CSV, a report). Exit codes: 0
 * done, 1 failed (a start-up error, a malformed file), 2 called wrong (a bad
 * flag), 130 / 143 stopped by SIGINT / SIGTERM (see `SignalExit.ts`).
 */
import { ApmConfig } from "@mcp-apm/core"
import { Cause, Config, Console, Effect, Option } from "effect"
import { CliError, CliOutput, Command } from "effect/cli"
import { demoCommand } from "./DemoCommand.ts"
import { detectCommand } from "./DetectCommand.ts"
import * as StartupError from "./StartupError.ts"
import { UsageError } from "./UsageError.ts"

/**
 * @category commands
 * @since 0.1.0
 */
export const mcpApmCommand = Command.make("mcp-apm").pipe(
  Command.withDescription("mcp-apm: APM for Effect services"),
  Command.withSubcommands([detectCommand, demoCommand])
)

// A bad flag: what was wrong and where the help is, on stderr; the whole help page on stdout would bury it.
const presenter = CliOutput.layerPresenter({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.gen(function*() {
        const formatter = yield* CliOutput.Formatter
        yield* Console.error(formatter.formatErrors(event.errors))
        yield* Console.error(`Run "${event.commandPath.join(" ")} --help" for the options.`)
      })
      : CliOutput.defaultPresenter.present(event)
})

const debugMode = Config.Boolean(ApmConfig.environmentVariables.debugMode).pipe(
  Config.withDefault(false),
  Effect.orElseSucceed(() => false)
)

/**
 * Puts a failure into words on stderr (unless effect/cli already did) and
 * keeps the exit code it stands for.
 */
const report = <E>(cause: Cause.Cause<E>) =>
  Effect.gen(function*() {
    if (Cause.hasInterruptsOnly(cause)) return yield* Effect.failCause(cause)
    const error = Cause.squash(cause)
    if (CliError.isCliError(error) && error._tag === "ShowHelp") {
      if (error.errors.length === 0) return
      return yield* new UsageError({ message: error.errors.map((e) => e.message).join("\n") })
    }
    const startup = yield* StartupError.fromFailure(error)
    if (Option.isSome(startup)) {
      yield* Console.error(startup.value.message)
      if (yield* debugMode) yield* Console.error(Cause.pretty(cause))
      return yield* startup.value
    }
    // a CsvSeriesError or UsageError is already on stderr, in the words of its userMessage
    if (typeof error !== "object" || error === null || CliError.getUserMessage(error) === undefined) {
      yield* Console.error(Cause.pretty(cause))
    }
    return yield* Effect.failCause(cause)
  })

/**
 * Runs the program on the process arguments; failures are reported on stderr
 * and carry their exit code (`Runtime.errorExitCode`) for `runMain`.
 *
 * @category running
 * @since 0.1.0
 */
export const main = Command.run(mcpApmCommand, { version: "0.1.0" }).pipe(
  Effect.catchCause(report),
  Effect.provide(presenter)
)
