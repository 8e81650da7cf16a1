/**
 * What an operator reads when `mcp-apm` cannot start: one or two lines that
 * name the variable, the value and what was expected (or, for an address in
 * use, the address and what to do), in place of an error object with a stack
 * trace. A misconfigured APM must be fixable from the message alone.
 *
 * @since 0.1.0
 */
import { ApmConfig } from "@mcp-apm/core"
import { Config, Effect, Option, Runtime, Schema, SchemaIssue } from "effect"
import { HttpServerError } from "effect/http"

/**
 * A failure of start-up, already put into words. Exit code 1.
 *
 * @category errors
 * @since 0.1.0
 */
export class StartupError extends Schema.TaggedError<StartupError>()("StartupError", {
  message: Schema.String,
  cause: Schema.Defect()
}) {
  override readonly [Runtime.errorExitCode] = 1
  // the CLI prints `message` itself, without the stack
  override readonly [Runtime.errorReported] = false
}

/** The variable a `Config.ConfigError` is about: the first key of its schema issue's path. */
const variableOf = (issue: SchemaIssue.Issue): string | undefined => {
  if (issue._tag === "Pointer") {
    const key = issue.path[0]
    return typeof key === "string" ? key : undefined
  }
  return "issue" in issue && SchemaIssue.isIssue(issue.issue) ? variableOf(issue.issue) : undefined
}

// "Expected a value between 0 and 65535" -> "a value between 0 and 65535"
const expectation = (text: string) => text.replace(/^expected\s+/i, "")

// A token's (or an OTLP header's) value stays out of the terminal and the logs that capture it, even when it is wrong.
const secret = /TOKEN|SECRET|PASSWORD|KEY|HEADERS/i

const fromConfigError = Effect.fnUntraced(function*(error: Config.ConfigError) {
  const cause = error.cause
  if (!Schema.isSchemaError(cause)) return `Cannot read the configuration: ${cause.message}`
  // the schema message's first line says what was expected; the lines after it only repeat the path
  const expected = expectation(cause.message.split("\n")[0]!.trim())
  const variable = variableOf(cause.issue)
  if (variable === undefined) return `Invalid configuration: ${expected}`
  const value = yield* Config.option(Config.String(variable)).pipe(Effect.orElseSucceed(Option.none))
  return Option.match(value, {
    onNone: () => `Missing ${variable}: expected ${expected}`,
    onSome: (value) =>
      `Invalid ${variable}=${secret.test(variable) ? "<redacted>" : JSON.stringify(value)}: expected ${expected}`
  })
})

interface SystemError {
  readonly code?: unknown
  readonly address?: unknown
  readonly port?: unknown
  readonly message?: unknown
}

const fromServeError = (error: HttpServerError.ServeError): string => {
  const cause = (typeof error.cause === "object" && error.cause !== null ? error.cause : {}) as SystemError
  const address = `${String(cause.address ?? "?")}:${String(cause.port ?? "?")}`
  switch (cause.code) {
    case "EADDRINUSE":
      return `Cannot listen on ${address}: the address is already in use.\n` +
        `Stop the process that holds it, or set APM_HTTP_PORT (mcp-apm demo: --port) to another port; 0 picks a free one.`
    case "EACCES":
      return `Cannot listen on ${address}: permission denied.\n` +
        `Ports below 1024 need privileges: set APM_HTTP_PORT (mcp-apm demo: --port) to a port above 1023.`
    case "EADDRNOTAVAIL":
      return `Cannot listen on ${address}: no such address on this machine.\n` +
        `Set APM_HTTP_HOST to an address of this machine (127.0.0.1 by default).`
    default:
      return `Cannot start the HTTP server on ${address}: ${String(cause.message ?? error.cause)}`
  }
}

/**
 * The start-up error a failure stands for, when it is one: a bad `APM_*`
 * value (`ApmConfigError`), a bad runtime variable (`Config.ConfigError`), or
 * an HTTP server that cannot listen (`ServeError`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromFailure = (error: unknown): Effect.Effect<Option.Option<StartupError>> => {
  if (error instanceof ApmConfig.ApmConfigError) {
    return Effect.succeedSome(new StartupError({ message: error.message, cause: error }))
  }
  if (error instanceof Config.ConfigError) {
    return Effect.map(fromConfigError(error), (message) => Option.some(new StartupError({ message, cause: error })))
  }
  if (error instanceof HttpServerError.ServeError) {
    return Effect.succeedSome(new StartupError({ message: fromServeError(error), cause: error }))
  }
  return Effect.succeedNone
}
