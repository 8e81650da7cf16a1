import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ApmConfig, BaselineStore } from "@mcp-apm/core"
import { ByteSize, Context, Effect, Fiber, FileSystem, Layer, Logger } from "effect"
import { TestClock } from "effect/testing"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { readSnapshotsForever } from "./support/baselineReader.ts"

const fileIn = () => join(mkdtempSync(join(tmpdir(), "apm-baselines-")), "nested", "baselines.json")

/** What is in the file's directory besides the file itself (temporary files a failed save left behind). */
const litter = (file: string) => {
  try {
    return readdirSync(dirname(file)).filter((name) => name !== "baselines.json")
  } catch {
    return []
  }
}

/** The real Node file system with some of its operations replaced. */
const fileSystemWith = (overrides: (fs: FileSystem.FileSystem) => Partial<FileSystem.FileSystem>) =>
  Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs) => FileSystem.FileSystem.of({ ...fs, ...overrides(fs) }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

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
const withStore = <A>(
  file: string,
  use: (store: BaselineStore.BaselineStoreService) => Effect.Effect<A>,
  fileSystem: Layer.Layer<FileSystem.FileSystem> = NodeFileSystem.layer,
  overrides: Partial<ApmConfig.ApmOptions> = {}
) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
      if (logLevel === "Warn") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const result = yield* Effect.scoped(
      Layer.build(
        BaselineStore.layerPersistent(file).pipe(
          Layer.provide(ApmConfig.ApmConfig.layer({ baselineMinSamples: 3, ...overrides })),
          Layer.provide(Layer.merge(fileSystem, NodePath.layer))
        )
      ).pipe(Effect.flatMap((context) => use(Context.get(context, BaselineStore.BaselineStore))))
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

  it.effect("a directory that cannot be created (under /proc) is one warning at start-up, and nothing hangs", () =>
    Effect.gen(function*() {
      const file = `/proc/apm-baselines-${process.pid}/baselines.json`
      const { result, warnings } = yield* withStore(file, (store) =>
        Effect.gen(function*() {
          for (let i = 1; i <= 5; i++) store.observe(observation(i / 100, i))
          return yield* store.baselines
        }))
      assert.strictEqual(result.length, 1, "the baselines still work in memory")
      assert.strictEqual(warnings.length, 1, warnings.join("\n"))
      assert.include(warnings[0], file)
      assert.include(warnings[0], "ENOENT")
    }))

  it.effect("a directory where the file should be is one warning, and is never written", () =>
    Effect.gen(function*() {
      const file = fileIn()
      mkdirSync(file, { recursive: true })
      const { warnings } = yield* withStore(file, (store) => Effect.sync(() => store.observe(observation(0.1, 1))))
      assert.strictEqual(warnings.length, 1, warnings.join("\n"))
      assert.include(warnings[0], file)
      assert.include(warnings[0], "not a regular file (Directory)")
      assert.deepStrictEqual(readdirSync(file), [])
      assert.deepStrictEqual(litter(file), [])
    }))

  it.effect("an unwritable path (a directory under a regular file) is one warning at start-up", () =>
    Effect.gen(function*() {
      const parent = join(mkdtempSync(join(tmpdir(), "apm-baselines-")), "a-file")
      writeFileSync(parent, "")
      const file = join(parent, "baselines.json")
      const { warnings } = yield* withStore(file, (store) => Effect.sync(() => store.observe(observation(0.1, 1))))
      assert.strictEqual(warnings.length, 1, warnings.join("\n"))
      assert.include(warnings[0], file)
      assert.deepStrictEqual(readdirSync(dirname(parent)), ["a-file"])
    }))

  // /dev/full answers every write with ENOSPC, as a full disk does; the temporary file is created for real first.
  const fullDisk = fileSystemWith((fs) => ({
    writeFileString: (path, data, options) =>
      Effect.andThen(fs.writeFileString(path, "", options), fs.writeFileString("/dev/full", data))
  }))

  it.effect("a full disk is one warning at start-up, leaves no temporary file and keeps the previous file whole", () =>
    Effect.gen(function*() {
      const file = fileIn()
      yield* withStore(file, (store) =>
        Effect.sync(() => {
          for (let i = 1; i <= 5; i++) store.observe(observation(i / 100, i))
        }))
      const before = readFileSync(file, "utf8")
      const { result, warnings } = yield* withStore(file, (store) =>
        Effect.sync(() => {
          store.observe(observation(0.5, 10))
          return store.baselineOf("GET /plans")
        }), fullDisk)
      assert.isDefined(result, "restored from the previous file")
      assert.strictEqual(warnings.length, 1, warnings.join("\n"))
      assert.include(warnings[0], file)
      assert.include(warnings[0], "ENOSPC")
      assert.deepStrictEqual(litter(file), [])
      assert.strictEqual(readFileSync(file, "utf8"), before)
    }))

  it.effect("a file operation that never answers is given up after the timeout, at start-up and at shutdown", () =>
    Effect.gen(function*() {
      // A disk that never answers a read or a rename (a hung network mount); every other operation answers at once.
      const written: Array<string> = []
      const removed: Array<string> = []
      const hung = FileSystem.layerNoop({
        stat: () => Effect.succeed({ type: "File", size: ByteSize.bytes(100) } as FileSystem.File.Info),
        readFileString: () => Effect.never,
        makeDirectory: () => Effect.void,
        writeFileString: (path) => Effect.sync(() => written.push(path)),
        rename: () => Effect.never,
        remove: (path) => Effect.sync(() => removed.push(path))
      })
      const fiber = yield* Effect.forkChild(withStore("/mnt/hung/baselines.json", () => Effect.void, hung))
      for (let i = 0; i < 10 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("1 second")
      const { warnings } = yield* Fiber.join(fiber)
      assert.strictEqual(warnings.length, 2, warnings.join("\n")) // the read, the start-up save; the last is held back
      assert.include(warnings[0], "read /mnt/hung/baselines.json: no answer in 1s")
      assert.include(warnings[1], "rename")
      assert.include(warnings[1], "no answer in 1s")
      assert.strictEqual(written.length, 2, "saved at start-up and at shutdown")
      assert.deepStrictEqual(removed, written, "each temporary file removed")
    }))

  it.effect("invalid entries are dropped one by one, with one warning naming the file and how many", () =>
    Effect.gen(function*() {
      const file = fileIn()
      mkdirSync(dirname(file), { recursive: true })
      const entry = (operationName: string, samples: ReadonlyArray<number>) => ({
        operationName,
        operationType: "http_request",
        samples
      })
      writeFileSync(
        file,
        JSON.stringify({
          format: "mcp-apm/baselines",
          version: 1,
          savedAt: 100,
          operations: [
            entry("GET /plans", [0.01, 0.02, 0.03]),
            entry("negative", [-0.5]),
            entry("huge", [1e300]),
            entry("x".repeat(1000), [0.1])
          ]
        })
      )
      const { result, warnings } = yield* withStore(file, (store) => store.snapshot)
      assert.deepStrictEqual(result.operations.map((operation) => operation.operationName), ["GET /plans"])
      assert.strictEqual(warnings.length, 1, warnings.join("\n"))
      assert.include(warnings[0], `Dropped 3 of 4 entries of the baseline file ${file}`)
    }))

  it.effect("a file larger than any snapshot could be is not read", () =>
    Effect.gen(function*() {
      const file = fileIn()
      const overrides = { maxOperations: 1, baselineWindowSize: 5 }
      mkdirSync(dirname(file), { recursive: true })
      const options = yield* ApmConfig.make(overrides)
      writeFileSync(file, " ".repeat(BaselineStore.maxFileBytes(options) + 1))
      const { result, warnings } = yield* withStore(file, (store) => store.baselines, NodeFileSystem.layer, overrides)
      assert.deepStrictEqual(result, [])
      assert.strictEqual(warnings.length, 1, warnings.join("\n"))
      assert.include(warnings[0], "more than the")
      assert.isBelow(statSync(file).size, BaselineStore.maxFileBytes(options), "replaced by a valid snapshot")
    }))

  it.live("leftover temporary files of earlier runs are removed at start; a writer's fresh one and other files stay", () =>
    Effect.gen(function*() {
      const file = fileIn()
      const directory = dirname(file)
      mkdirSync(directory, { recursive: true })
      const anHourAgo = new Date(Date.now() - 3_600_000)
      const files = [
        "baselines.json.4242.k3j9x.tmp",
        "baselines.json.1764626400000.tmp",
        "other.json.1.tmp",
        "notes.txt"
      ]
      for (const name of files) {
        writeFileSync(join(directory, name), "{")
        utimesSync(join(directory, name), anHourAgo, anHourAgo)
      }
      writeFileSync(join(directory, "baselines.json.4343.abcde.tmp"), "{")
      const { warnings } = yield* withStore(file, () => Effect.void)
      assert.deepStrictEqual(warnings, [])
      assert.deepStrictEqual(litter(file).sort(), ["baselines.json.4343.abcde.tmp", "notes.txt", "other.json.1.tmp"])
    }))

  it.live("two stores saving one file at once never collide: every read is a whole snapshot", () =>
    Effect.gen(function*() {
      const file = fileIn()
      const overrides = { baselineUpdateInterval: 0.002 }
      const writer = (name: string) =>
        withStore(
          file,
          (store) =>
            Effect.gen(function*() {
              for (let i = 1; i <= 100; i++) {
                store.observe({ ...observation(i / 1000, i), operationName: name })
                yield* Effect.sleep("2 millis")
              }
            }),
          NodeFileSystem.layer,
          overrides
        )
      const reads = { whole: 0, broken: 0 }
      const reader = readSnapshotsForever(file, "1 millis", reads)
      const readerFiber = yield* Effect.forkChild(reader)
      const [first, second] = yield* Effect.all([writer("first"), writer("second")], { concurrency: 2 })
      yield* Fiber.interrupt(readerFiber)
      assert.deepStrictEqual([...first.warnings, ...second.warnings], [])
      assert.strictEqual(reads.broken, 0)
      assert.isAbove(reads.whole, 0)
      assert.deepStrictEqual(litter(file), [])
    }))
})
