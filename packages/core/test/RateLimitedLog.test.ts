import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { TestClock } from "effect/testing"
import { RateLimitedLog } from "../src/index.ts"

const captured = (lines: Array<string>) =>
  Logger.layer([Logger.make(({ logLevel, message }) => lines.push(`${logLevel} ${String(message)}`))])

describe("RateLimitedLog", () => {
  it.effect("logs a key at most once an interval and says how many lines were held back", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const log = RateLimitedLog.make({ interval: "1 minute" })
      for (let i = 0; i < 5; i++) yield* log.warn("model_router/confidence", "bad confidence")
      yield* log.warn("model_router/tokens", "bad tokens")
      yield* TestClock.adjust("59 seconds")
      yield* log.warn("model_router/confidence", "bad confidence")
      yield* TestClock.adjust("1 second")
      yield* log.warn("model_router/confidence", "bad confidence")
      assert.deepStrictEqual(lines, [
        "Warn bad confidence",
        "Warn bad tokens",
        "Warn bad confidence (5 more since the last warning)"
      ])
    }).pipe(Effect.provide(captured(lines)))
  })

  it.effect("forgets the oldest key past its bound instead of growing", () => {
    const lines: Array<string> = []
    return Effect.gen(function*() {
      const log = RateLimitedLog.make({ interval: "1 minute", maxKeys: 2 })
      yield* log.warn("a", "a")
      yield* log.warn("b", "b")
      yield* log.warn("a", "a held back")
      yield* log.warn("c", "c")
      // "a" was the oldest and is forgotten, so it is logged again.
      yield* log.warn("a", "a again")
      assert.deepStrictEqual(lines, ["Warn a", "Warn b", "Warn c", "Warn a again"])
    }).pipe(Effect.provide(captured(lines)))
  })
})
