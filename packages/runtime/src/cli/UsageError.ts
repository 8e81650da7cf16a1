/**
 * A command line that asks for something the command cannot do: a flag value
 * out of range, flags that contradict each other. Exit code 2, the Unix
 * convention for a usage error, so that a script can tell "you called me
 * wrong" from "I failed".
 *
 * @since 0.1.0
 */
import { Runtime, Schema } from "effect"
import { CliError } from "effect/cli"

/**
 * @category errors
 * @since 0.1.0
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {
  override readonly [Runtime.errorExitCode] = 2
  // effect/cli prints this on stderr, without a stack trace
  override get [CliError.userMessage](): string {
    return this.message
  }
}
