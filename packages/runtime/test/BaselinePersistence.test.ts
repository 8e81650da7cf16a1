import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ApmConfig, BaselineStore } from "@mcp-apm/core"
import { Context, Effect, Layer, Logger } from "effect"
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const fileIn = () => join(mkdtempSync(join(tmpdir(), "apm-baselines-")), "nested", "baselines.json")

const observation = (duration: number, endTime: number) => ({
  operationName: "GET /plans",
  operationType: "http_request" as const,
  startTime: endTime - duration * 1000,
  endTime,
  duration,
  status: "ok" as const,
  success: true,
  slow: false,
  attributes: {}
})

/** Builds the persistent store, runs `use` on it, releases it; returns what was logged as warnings. */
const withStore = <A>(file: string, use: (store: BaselineStore.BaselineStoreService) => Effect.Effect<A>) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
      if (logLevel === "Warn") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const result = yield* Effect.scoped(
      Layer.build(BaselineStore.layerPersistent(file).pipe(
        Layer.provide(ApmConfig.ApmConfig.layer({ baselineMinSamples: 3 })),
        Layer.provide(NodeServices.layer)
      )).pipe(Effect.flatMap((context) => use(Context.get(context, BaselineStore.BaselineStore))))
    ).pipe(Effect.provide(Logger.layer([logger])))
    return { result, warnings }
  })

describe("BaselineStore.layerPersistent", () => {
  it.effect("a restart keeps the baselines, written atomically with mode 0600", () =>
    Effect.gen(function*() {
      const file = fileIn()
      const first = yield* withStore(file, (store) =>
        Effect.sync(() => {
          for (let i = 1; i <= 5; i++) store.observe(observation(i / 100, i))
          return store.baselineOf("GET /plans")
        }))
      assert.deepStrictEqual(first.warnings, [])
      assert.isDefined(first.result)
      assert.strictEqual(statSync(file).mode & 0o777, 0o600)
      const second = yield* withStore(file, (store) => Effect.succeed(store.baselineOf("GET /plans")))
      assert.deepStrictEqual(second.result, first.result)
      assert.deepStrictEqual(second.warnings, [])
    }))

  it.effect("a missing file is a fresh start without a warning", () =>
    Effect.gen(function*() {
      const { result, warnings } = yield* withStore(fileIn(), (store) => store.baselines)
      assert.deepStrictEqual(result, [])
      assert.deepStrictEqual(warnings, [])
    }))

  const damaged: ReadonlyArray<[string, (good: string) => string]> = [
    ["truncated (a crash mid-write)", (good) => good.slice(0, Math.floor(good.length / 2))],
    ["corrupt", () => "\u0000\u0001 not json at all"],
    ["foreign", () => JSON.stringify({ format: "someone-else", entries: [1, 2, 3] })],
    ["empty", () => ""]
  ]
  for (const [label, damage] of damaged) {
    it.effect(`a ${label} file is logged as a warning and the store starts fresh`, () =>
      Effect.gen(function*() {
        const file = fileIn()
        yield* withStore(file, (store) =>
          Effect.sync(() => {
            for (let i = 1; i <= 5; i++) store.observe(observation(i / 100, i))
          }))
        writeFileSync(file, damage(readFileSync(file, "utf8")))
        const { result, warnings } = yield* withStore(file, (store) => store.baselines)
        assert.deepStrictEqual(result, [])
        assert.strictEqual(warnings.length, 1)
        assert.include(warnings[0], file)
      }))
  }
})
