/**
 * Exit codes for a CLI stopped by a signal. `NodeRuntime.runMain` interrupts
 * the program on SIGINT and SIGTERM, runs every finalizer (spans flushed,
 * baselines written) and then exits 130 for either; a supervisor reads 143 as
 * "stopped by SIGTERM" and anything else non-zero as a crash, so each signal
 * gets its own conventional code, 128 + its number. A second signal exits at
 * once with that code, for when shutdown itself hangs.
 *
 * @since 0.1.0
 */
import { Cause, Exit, Runtime } from "effect"
import { constants } from "node:os"

const signals = ["SIGINT", "SIGTERM"] as const

/**
 * Listens for SIGINT and SIGTERM and returns the teardown for `runMain` that
 * exits with 128 + the number of the signal that interrupted the program.
 * Standard output and error are drained before the process exits.
 *
 * @category constructors
 * @since 0.1.0
 */
export const install = (): Runtime.Teardown => {
  let received: (typeof signals)[number] | undefined
  const codeOf = (signal: (typeof signals)[number]) => 128 + constants.signals[signal]
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
