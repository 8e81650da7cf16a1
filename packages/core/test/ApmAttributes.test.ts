import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import * as fc from "fast-check"
import { Apm, PerformanceMetrics } from "../src/index.ts"
import { ApmRecorder, ApmTest } from "../src/testing/index.ts"

const megabyte = "x".repeat(1024 * 1024)

// What JavaScript callers can pass where the types say "primitives": the runtime must take all of it.
const hostile = (): Record<string, unknown> => ({
  huge: megabyte,
  nested: { a: { b: [1, 2, { c: "d" }] } },
  notANumber: Number.NaN,
  infinite: Number.POSITIVE_INFINITY,
  big: 12345678901234567890n,
  callback: () => 1,
  symbol: Symbol("s"),
  nothing: null,
  missing: undefined,
  cyclic: (() => {
    const o: Record<string, unknown> = {}
    o["self"] = o
    return o
  })(),
  trap: Object.defineProperty({}, "boom", {
    enumerable: true,
    get: () => {
      throw new Error("getter")
    }
  }),
  [`k${"y".repeat(10_000)}`]: "long key",
  fine: "ok",
  count: 3
})

const traced = <A, E>(self: Effect.Effect<A, E>, attributes: Record<string, unknown>) =>
  Apm.trace(self, "hostile", "custom_operation", attributes as PerformanceMetrics.Attributes)

describe("Apm.trace with hostile attributes", () => {
  it.effect("never fails, and keeps only bounded primitive values on the span and the record", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* traced(Effect.succeed(42), hostile()), 42)
      const [span] = yield* ApmRecorder.spans
      const [record] = yield* ApmRecorder.operations
      for (const attributes of [span!.attributes, record!.attributes]) {
        for (const [key, value] of Object.entries(attributes)) {
          assert.isAtMost(key.length, 4096, key.slice(0, 20))
          assert.include(["string", "number", "boolean"], typeof value, key)
          if (typeof value === "string") assert.isAtMost(value.length, 4096, key)
          if (typeof value === "number") assert.isTrue(Number.isFinite(value), key)
        }
      }
      const kept = record!.attributes
      assert.strictEqual((kept["huge"] as string).length, 4096)
      assert.strictEqual(kept["notANumber"], "NaN")
      assert.strictEqual(kept["big"], "12345678901234567890")
      assert.strictEqual(kept["symbol"], "Symbol(s)")
      assert.strictEqual(kept["fine"], "ok")
      assert.strictEqual(kept["count"], 3)
      assert.isUndefined(kept["callback"])
      assert.isUndefined(kept["nothing"])
      assert.isString(kept["nested"])
      assert.isString(kept["cyclic"])
      assert.strictEqual(span!.attributes["apm.operation.type"], "custom_operation")
      // The record can be serialised for the dashboard and the baseline file.
      assert.isString(JSON.stringify(record))
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("cuts strings to maxAttributeLength (APM_MAX_ATTRIBUTE_LENGTH)", () =>
    Effect.gen(function*() {
      yield* traced(Effect.void, { t: "abcdef", e: "abc😀", longKey: 1 })
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.attributes["t"], "abcd")
      // A surrogate pair is not split in half.
      assert.strictEqual(record!.attributes["e"], "abc")
      assert.strictEqual(record!.attributes["long"], 1)
    }).pipe(Effect.provide(ApmTest.layer({ maxAttributeLength: 4 }))))

  it.effect("a name longer than maxOperationNameLength folds into the overflow operation", () =>
    Effect.gen(function*() {
      const name = "n".repeat(PerformanceMetrics.maxOperationNameLength + 1)
      yield* Apm.trace(Effect.void, name, "custom_operation")
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.operationName, "apm_overflow")
      const [span] = yield* ApmRecorder.spans
      assert.isAtMost(span!.name.length, 4096)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("a 10 MB error message is recorded cut short", () =>
    Effect.gen(function*() {
      const message = "e".repeat(10 * 1024 * 1024)
      const exit = yield* Effect.exit(Apm.trace(Effect.fail(new Error(message)), "fails", "custom_operation"))
      assert.isTrue(Exit.isFailure(exit))
      const [record] = yield* ApmRecorder.operations
      assert.isAtMost(record!.errorMessage!.length, PerformanceMetrics.maxErrorMessageLength)
    }).pipe(Effect.provide(ApmTest.layer())))

  // Every way an effect can end, with every kind of attribute value: the exit is the one it would have without Apm.
  const endings = fc.oneof(
    fc.anything().map((value) => Effect.succeed(value)),
    fc.anything().map((error) => Effect.fail(error)),
    fc.anything().map((defect) => Effect.die(defect)),
    fc.constant(Effect.interrupt)
  )
  const attributeBags = fc.dictionary(fc.string(), fc.oneof(fc.anything(), fc.bigInt(), fc.func(fc.anything())))

  it.effect("whatever the attributes, the traced effect's exit is the one it has untraced", () =>
    Effect.gen(function*() {
      const samples = fc.sample(fc.tuple(endings, attributeBags), { numRuns: 300, seed: 9 })
      for (const [ending, attributes] of samples) {
        const plain = yield* Effect.exit(ending)
        const fiber = yield* Effect.forkChild(traced(ending, attributes))
        const seen = yield* Fiber.await(fiber)
        assert.strictEqual(seen._tag, plain._tag)
        if (Exit.isSuccess(seen) && Exit.isSuccess(plain)) assert.strictEqual(seen.value, plain.value)
        if (Exit.isFailure(seen) && Exit.isFailure(plain)) {
          assert.deepStrictEqual(Cause.prettyErrors(seen.cause).length, Cause.prettyErrors(plain.cause).length)
          assert.strictEqual(Cause.hasInterrupts(seen.cause), Cause.hasInterrupts(plain.cause))
          assert.strictEqual(Cause.hasDies(seen.cause), Cause.hasDies(plain.cause))
          assert.strictEqual(Cause.hasFails(seen.cause), Cause.hasFails(plain.cause))
        }
      }
      assert.strictEqual((yield* ApmRecorder.operations).length, 300)
    }).pipe(Effect.provide(ApmTest.layer())))
})
