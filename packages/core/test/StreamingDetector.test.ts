import { assert, describe, it } from "@effect/vitest"
import type { Assessment } from "../src/StreamingDetector.ts"
import { AnomalyEpisodes, detectorProfiles, StreamingDetector } from "../src/StreamingDetector.ts"
import { LatencyContract } from "../src/testing/index.ts"
import {
  cleanWorkloads,
  heldOutCleanWorkloads,
  heldOutIncidents,
  incidents,
  lognormal,
  narrow,
  seeded
} from "../src/testing/LatencyWorkload.ts"

// the contract of bench/detection/latency.ts, counted the same way, on the same seeds
const { heldOut, onset, runClean, runIncident, shipped, warmUp } = LatencyContract

describe("StreamingDetector (latency profile, the default)", () => {
  it("is the default profile, with the threshold scaling with sensitivity", () => {
    const detector = new StreamingDetector()
    assert.strictEqual(detector.profile.name, "latency")
    assert.strictEqual(detector.threshold, detectorProfiles.latency.threshold)
    assert.approximately(
      new StreamingDetector({ sensitivity: 3 }).threshold,
      detectorProfiles.latency.threshold * 1.5,
      1e-12
    )
    assert.strictEqual(new StreamingDetector({ profile: "metric" }).threshold, detectorProfiles.metric.threshold)
    assert.strictEqual(new StreamingDetector({ threshold: 0.42 }).threshold, 0.42)
  })

  describe("clean workloads raise at most 1 alarm episode per 10,000 operations", () => {
    for (const workload of cleanWorkloads) {
      it(workload.name, () => {
        const rate = runClean(workload, shipped, 100).episodesPer10k
        assert.isAtMost(rate, 1, `${rate} episodes per 10k`)
      })
    }
  })

  describe("incidents are caught within their deadline", () => {
    // the seeds of bench/detection/latency.ts; every other incident meets the 99% contract, these four are
    // below it (bench/detection/README.md) and are held to what they reach, so that they cannot regress
    const floors: Record<string, number> = {
      "1.5x step on lognormal sigma 0.5": 98,
      "ramp to 3x over 1000 on lognormal sigma 0.3, +-30% drift over 4000": 98,
      "10% of operations 5x on lognormal sigma 0.5": 98,
      "10% of operations 5x on pareto alpha 2.5": 98
    }
    for (const incident of incidents) {
      it(incident.name, () => {
        const n = runIncident(incident, shipped, 100).caught
        assert.isAtLeast(n, floors[incident.name] ?? 99, `${n} of 100 seeds within ${incident.deadline}`)
      })
    }
  })

  describe("held-out workloads and seeds keep the contract too", () => {
    for (const workload of heldOutCleanWorkloads) {
      it(workload.name, () => {
        const rate = runClean(workload, shipped, 100, heldOut.seedBase).episodesPer10k
        assert.isAtMost(rate, 1, `${rate} episodes per 10k`)
      })
    }
    // a cache-miss share that puts the p90 inside the slow mode is below the contract (bench/detection/README.md)
    const floors: Record<string, number> = { "cache 85% hit / 15% miss -> cache 55% hit / 45% miss": 79 }
    for (const incident of heldOutIncidents) {
      it(incident.name, () => {
        const n = runIncident(incident, shipped, 100, heldOut.seedBase).caught
        assert.isAtLeast(n, floors[incident.name] ?? 99, `${n} of 100 seeds within ${incident.deadline}`)
      })
    }
  })

  it("pages (ERROR or worse) on a sustained 2x slowdown and a grown tail, within twice their deadline", () => {
    for (const incident of incidents.filter((i) => i.name.startsWith("2x step") || i.name.startsWith("10% of"))) {
      assert.isAtLeast(runIncident(incident, shipped, 50).paged, 49, incident.name)
    }
  })

  it("keeps the false alarms of clean workloads below ERROR, but for a few in 100,000", () => {
    let pages = 0
    let operations = 0
    for (const workload of cleanWorkloads) {
      for (let seed = 1; seed <= 4; seed++) {
        const durations = workload.start(seeded(seed))
        const detector = new StreamingDetector()
        for (let i = 0; i < warmUp + 10_000; i++) {
          const severity = detector.assess(durations(i)).severity
          if (i >= warmUp && (severity === "ERROR" || severity === "CRITICAL")) pages++
        }
        operations += 10_000
      }
    }
    // flagged operations, not episodes: an episode that reaches ERROR stays there for a while
    assert.isAtMost(pages / operations * 10_000, 1, `${pages} ERROR or CRITICAL operations in ${operations}`)
  })

  it("reports a sustained moderate slowdown as a shift, graded by its size", () => {
    const u = seeded(4000)
    const detector = new StreamingDetector()
    const durations = lognormal(0.3).start(u)
    for (let i = 0; i < onset; i++) detector.assess(durations(i))
    let first: Assessment | undefined
    for (let i = 0; i < 200 && first === undefined; i++) {
      const a = detector.assess(1.5 * durations(i))
      if (a.isAnomaly) first = a
    }
    assert.isDefined(first)
    assert.strictEqual(first!.kind, "shift")
    assert.isAbove(first!.zScore, 0)
    assert.include(["WARNING", "ERROR"], first!.severity)
  })

  it("grades a sustained 3x slowdown CRITICAL", () => {
    const detector = new StreamingDetector()
    const durations = lognormal(0.3).start(seeded(4100))
    for (let i = 0; i < onset; i++) detector.assess(durations(i))
    const seen = new Set<string | undefined>()
    for (let i = 0; i < 40; i++) seen.add(detector.assess(3 * durations(i)).severity)
    assert.isTrue(seen.has("CRITICAL"))
    assert.isFalse(seen.has("INFO"))
  })

  it("detects a step slowdown of a narrow workload within a few operations", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const detector = new StreamingDetector()
      const durations = narrow().start(seeded(2000 + seed))
      for (let i = 0; i < warmUp; i++) detector.assess(durations(i))
      let at = -1
      for (let i = 0; i < 20 && at < 0; i++) if (detector.assess(2 * durations(i)).isAnomaly) at = i
      assert.isAtLeast(at, 0)
      assert.isAtMost(at, 10)
    }
  })

  it("flags an isolated extreme outlier as a spike at INFO, and routine stalls not at all", () => {
    for (let seed = 1; seed <= 100; seed++) {
      const detector = new StreamingDetector()
      const durations = narrow().start(seeded(3000 + seed))
      for (let i = 0; i < warmUp; i++) detector.assess(durations(i))
      assert.isFalse(detector.assess(6 * narrow().median).isAnomaly)
      const a = detector.assess(50 * narrow().median)
      assert.isTrue(a.isAnomaly)
      assert.strictEqual(a.kind, "spike")
      assert.strictEqual(a.severity, "INFO")
    }
  })

  it("does not flag a cache miss of a bimodal workload", () => {
    const bimodal = cleanWorkloads.find((w) => w.name.startsWith("bimodal"))!
    const detector = new StreamingDetector()
    const durations = bimodal.start(seeded(5000))
    for (let i = 0; i < warmUp; i++) detector.assess(durations(i))
    assert.isFalse(detector.assess(25 * bimodal.median).isAnomaly)
  })

  it("keeps scores within [0, 1] on degenerate series", () => {
    const u = seeded(7)
    const series: ReadonlyArray<ReadonlyArray<number>> = [
      Array.from({ length: 2000 }, () => 42),
      Array.from({ length: 2000 }, () => 0),
      Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? -5 : -7)),
      Array.from({ length: 2000 }, () => -1e6 * u()),
      Array.from({ length: 2000 }, (_, i) => (i === 1500 ? 1e300 : i % 97 === 0 ? -1e200 : 1e150 * u())),
      Array.from({ length: 2000 }, (_, i) => (i < 1000 ? 0 : 1)),
      Array.from({ length: 2000 }, () => Number.MIN_VALUE * u())
    ]
    for (const [values, profile] of series.flatMap((v) => [[v, "latency"], [v, "metric"]] as const)) {
      const detector = new StreamingDetector({ profile })
      for (const v of values) {
        const a = detector.assess(v)
        assert.isTrue(a.score >= 0 && a.score <= 1, `score ${a.score} for ${v}`)
        assert.isFalse(Number.isNaN(a.zScore))
      }
    }
  })

  it("never flags a constant series", () => {
    for (const profile of ["latency", "metric"] as const) {
      const detector = new StreamingDetector({ profile })
      for (let i = 0; i < 5000; i++) assert.isFalse(detector.assess(3.5).isAnomaly)
    }
  })

  it("reports its reference in the sample's units", () => {
    const durations = narrow(100).start(seeded(11))
    const detector = new StreamingDetector()
    let last = detector.assess(100)
    for (let i = 0; i < 2000; i++) last = detector.assess(durations(i))
    assert.approximately(last.mean, 100, 2)
    assert.approximately(last.stddev, 10, 2)
  })
})

describe("StreamingDetector (metric profile)", () => {
  const warmed = () => {
    const gauge = narrow(50).start(seeded(6000))
    const detector = new StreamingDetector({ profile: "metric" })
    let min = Infinity
    let max = -Infinity
    for (let i = 0; i < 1000; i++) {
      const x = gauge(i)
      min = Math.min(min, x)
      max = Math.max(max, x)
      detector.assess(x)
    }
    return { detector, min, max }
  }

  /** The index of the first of `count` samples of `next` that `detector` flags, or -1. */
  const firstFlag = (detector: StreamingDetector, next: (i: number) => number, count: number) => {
    for (let i = 0; i < count; i++) if (detector.assess(next(i)).isAnomaly) return i
    return -1
  }

  it("flags a level shift of a gauge and a new extreme", () => {
    // the level moves 20% up and steadies, every sample inside the range already seen: no extreme, only the level
    const shift = warmed()
    const shifted = narrow(60, 0.02).start(seeded(6001))
    const samples = Array.from({ length: 200 }, (_, i) => shifted(i))
    assert.isAbove(Math.min(...samples), shift.min)
    assert.isBelow(Math.max(...samples), shift.max)
    const at = firstFlag(shift.detector, (i) => samples[i]!, samples.length)
    assert.isAtLeast(at, 1, "a shift is flagged once it is sustained, not on its first sample")
    assert.isAtMost(at, 50)
    // the same steadier spread at the old level is no anomaly: the level is what was flagged
    const steady = warmed()
    const unshifted = narrow(50, 0.02).start(seeded(6001))
    assert.strictEqual(firstFlag(steady.detector, unshifted, 200), -1)

    const extreme = warmed()
    assert.isAbove(120, extreme.max)
    assert.isTrue(extreme.detector.assess(120).isAnomaly)
  })
})

describe("AnomalyEpisodes", () => {
  it("merges flags closer than the gap into one episode", () => {
    const episodes = new AnomalyEpisodes(3)
    const flags = [true, false, true, false, false, false, true, true, false]
    const opened = flags.map((f) => episodes.observe(f))
    assert.deepStrictEqual(opened, [true, false, false, false, false, false, true, false, false])
    assert.isTrue(episodes.active)
  })
})
