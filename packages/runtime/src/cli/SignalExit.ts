/**
 * How the CLI ends when a signal stops it. `NodeRuntime.runMain` interrupts
 * the program on SIGINT and SIGTERM, runs every finalizer (spans flushed,
 * baselines written) and then exits 130 for either; a supervisor reads 143 as
 * "stopped by SIGTERM" and anything else non-zero as a crash, so each signal
 * gets its own conventional code, 128 + its number. A shutdown that outlives
 * its deadline (a peer that never lets go of a connection) and a second
 * signal end the process at once, with the same code.
 *
 * @since 0.1.0
 */
import { Cause, Duration, Effect, Exit, Runtime } from "effect"
import { constants } from "node:os"

const signals = ["SIGINT", "SIGTERM"] as const
type Signal = (typeof signals)[number]

// Signals are process-wide, and so is what was received.
let received: Signal | undefined

const codeOf = (signal: Signal) => 128 + constants.signals[signal]

/**
 * Listens for SIGINT and SIGTERM and returns the teardown for `runMain` that
 * exits with 128 + the number of the signal that interrupted the program.
 * Standard output and error are drained before the process exits.
 *
 * @category constructors
 * @since 0.1.0
 */
export const install = (): Runtime.Teardown => {
  for (const signal of signals) {
    process.on(signal, () => {
      if (received !== undefined) process.exit(codeOf(signal))
      received = signal
    })
  }
  return (exit, onExit) =>
    Runtime.defaultTeardown(exit, (code) => {
      const interrupted = received !== undefined && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
      const final = interrupted ? codeOf(received!) : code
      process.stdout.write("", () => process.stderr.write("", () => onExit(final)))
    })
}

/** What a shutdown may take past `APM_SHUTDOWN_TIMEOUT`, the budget of the flush and the baseline write. */
const grace = Duration.seconds(1)

/**
 * Bounds the shutdown that follows a signal: once the program is
 * interrupted, the process exits one second past `shutdownTimeout` whatever
 * is still running (the timer does not keep it alive if everything finishes
 * first).
 *
 * @category combinators
 * @since 0.1.0
 */
export const deadline = (shutdownTimeout: Duration.Duration): Effect.Effect<void> =>
  Effect.sync(() => {
    const timeout = Duration.sum(shutdownTimeout, grace)
    setTimeout(() => {
      process.stderr.write(
        `Shutdown still running ${Duration.format(grace)} past APM_SHUTDOWN_TIMEOUT (${
          Duration.format(shutdownTimeout)
        }): exiting now.\n`
      )
      process.exit(received === undefined ? 1 : codeOf(received))
    }, Duration.toMillis(timeout)).unref()
  })
