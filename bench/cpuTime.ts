/**
 * The CPU time this process (all its threads) spends while an effect runs:
 * on a shared machine, wall time mostly measures the neighbours.
 */
import { Effect } from "effect"

const cpuMicros = () => {
  const { user, system } = process.cpuUsage()
  return user + system
}

/** The CPU microseconds `self` takes to run. */
export const cpuMicrosOf = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<number, E, R> =>
  Effect.suspend(() => {
    const start = cpuMicros()
    return Effect.map(self, () => cpuMicros() - start)
  })
