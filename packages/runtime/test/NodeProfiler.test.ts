import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { ApmRecorder, ApmTest } from "@mcp-apm/core/testing"
import * as Profiler from "@mcp-apm/core/Profiler"
import { Effect, Layer, Metric, Option } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeProfiler from "../src/NodeProfiler.ts"

const tempDir = Effect.acquireRelease(
  Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "apm-profiles-"))),
  (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
)

// The busy function a CPU profile must name.
function burnCpuForProfilerTest(millis: number): number {
  const end = performance.now() + millis
  let x = 0
  while (performance.now() < end) x += Math.sqrt(x + 1)
  return x
}

// The allocating function a heap profile must name.
function allocateForProfilerTest(count: number): number {
  let kept: Array<{ readonly i: number; readonly s: string }> = []
  for (let i = 0; i < count; i++) {
    kept.push({ i, s: `item-${i}` })
    if (kept.length > 10_000) kept = []
  }
  return kept.length
}

const recorded = <S>(recording: Option.Option<Profiler.ProfileRecording<S>>) =>
  Option.isSome(recording) ? recording.value.stop : Effect.die("skipped")

const isolated = Effect.provideService(Metric.MetricRegistry, new Map())

describe("NodeProfiler", () => {
  it.live("writes a .cpuprofile that parses as JSON and names the busy function", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const profiler = yield* NodeProfiler.make({ directory, cpuSamplingInterval: 100 })
      const recording = yield* profiler.startCpu("busy work")
      burnCpuForProfilerTest(300)
      const summary = yield* recorded(recording)
      assert.strictEqual(path.dirname(summary.file), directory)
      assert.match(path.basename(summary.file), /^apm-\d{13}-\d{6}-\d+-busy_work\.cpuprofile$/)
      const profile = JSON.parse(yield* Effect.promise(() => fs.readFile(summary.file, "utf8"))) as Profiler.CpuProfile
      assert.isTrue(profile.nodes.some((n) => n.callFrame.functionName === "burnCpuForProfilerTest"))
      assert.isAbove(profile.samples!.length, 0)
      const top = summary.topFunctions.find((f) => f.functionName === "burnCpuForProfilerTest")
      assert.isDefined(top, JSON.stringify(summary.topFunctions))
      assert.match(top!.url, /NodeProfiler\.test\.ts$/)
      assert.isAbove(top!.line, 1)
      assert.isAbove(summary.durationSeconds, 0.2)
      assert.deepStrictEqual((yield* profiler.stats).recorded, { cpu: 1, heap: 0 })
    }).pipe(isolated))

  it.live("writes a .heapprofile with the heap before and after and the top allocating function", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const profiler = yield* NodeProfiler.make({ directory, heapSamplingInterval: 4096 })
      const recording = yield* profiler.startHeap("allocations")
      allocateForProfilerTest(300_000)
      const summary = yield* recorded(recording)
      assert.match(summary.file, /\.heapprofile$/)
      const profile = JSON.parse(yield* Effect.promise(() => fs.readFile(summary.file, "utf8"))) as Profiler.HeapProfile
      assert.isDefined(profile.head.callFrame)
      assert.isAbove(summary.heapUsedBefore, 0)
      assert.isAbove(summary.heapUsedAfter, 0)
      assert.isAbove(summary.sampledBytes, 0)
      assert.isTrue(
        summary.topAllocations.some((f) => f.functionName === "allocateForProfilerTest"),
        JSON.stringify(summary.topAllocations)
      )
    }).pipe(isolated))

  it.live("one profile at a time: overlapping requests are skipped and counted", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const profiler = yield* NodeProfiler.make({ directory })
      const first = yield* profiler.startCpu("first")
      assert.isTrue(Option.isSome(first))
      assert.isTrue(Option.isNone(yield* profiler.startCpu("second")))
      assert.isTrue(Option.isNone(yield* profiler.startHeap("third")))
      // Another profiler in the same process shares the one inspector.
      const other = yield* NodeProfiler.make({ directory })
      assert.isTrue(Option.isNone(yield* other.startCpu("elsewhere")))
      yield* recorded(first)
      const stats = yield* profiler.stats
      assert.deepStrictEqual(stats.skipped, { cpu: 1, heap: 1 })
      assert.deepStrictEqual(stats.recorded, { cpu: 1, heap: 0 })
      // Free again once the first profile stopped.
      yield* recorded(yield* profiler.startCpu("again"))
    }).pipe(isolated))

  it.live("keeps at most maxFiles profiles of a kind, removing the oldest", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const profiler = yield* NodeProfiler.make({ directory, maxFiles: 2 })
      const files: Array<string> = []
      for (const label of ["p1", "p2", "p3", "p4"]) files.push((yield* recorded(yield* profiler.startCpu(label))).file)
      yield* recorded(yield* profiler.startHeap("h1"))
      const left = (yield* Effect.promise(() => fs.readdir(directory))).sort()
      assert.deepStrictEqual(left.filter((f) => f.endsWith(".cpuprofile")), files.slice(2).map((f) => path.basename(f)))
      assert.strictEqual(left.filter((f) => f.endsWith(".heapprofile")).length, 1)
      assert.strictEqual((yield* profiler.stats).filesRemoved, 2)
    }).pipe(isolated))

  it.live("a profile request while the inspector fails releases it for the next one", () =>
    Effect.gen(function*() {
      const file = yield* tempDir.pipe(Effect.map((dir) => path.join(dir, "not-a-directory")))
      yield* Effect.promise(() => fs.writeFile(file, ""))
      const profiler = yield* NodeProfiler.make({ directory: file })
      const error = yield* Effect.flip(recorded(yield* profiler.startCpu("unwritable")))
      assert.strictEqual(error._tag, "ProfilerError")
      const next = yield* profiler.startCpu("next")
      assert.isTrue(Option.isSome(next))
      yield* Effect.ignore(recorded(next))
    }).pipe(isolated))

  it.live("Apm.profileCpu with the Node profiler summarises the busy function on the span", () =>
    Effect.gen(function*() {
      const directory = yield* tempDir
      const live = NodeProfiler.layer({ directory, cpuSamplingInterval: 100 }).pipe(
        Layer.provideMerge(ApmTest.layer({ profilingSampleRate: 1 }))
      )
      yield* Effect.gen(function*() {
        yield* Effect.sync(() => burnCpuForProfilerTest(200)).pipe(
          Apm.profileCpu(),
          Apm.trace("crunch", "custom_operation")
        )
        const span = (yield* ApmRecorder.spans).find((s) => s.name === "crunch")!
        const top = span.attributes["apm.profile.cpu.top_functions"] as ReadonlyArray<string>
        assert.isTrue(top.some((line) => line.startsWith("burnCpuForProfilerTest (")), JSON.stringify(top))
        assert.match(String(span.attributes["apm.profile.cpu.file"]), /crunch\.cpuprofile$/)
      }).pipe(Effect.provide(live))
    }))
})
