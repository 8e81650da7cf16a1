import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

/** Runs `self` after `millis` of test time, moving the `TestClock` so that durations come out exact. */
export const after = <A, E, R>(millis: number, self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.andThen(Effect.sleep(millis), self))
    yield* TestClock.adjust(millis)
    return yield* Fiber.join(fiber)
  })
