import { assert, describe, it } from "@effect/vitest"
import type { Assessment } from "../src/StreamingDetector.ts"
import { AnomalyEpisodes, detectorProfiles, StreamingDetector } from "../src/StreamingDetector.ts"

// mulberry32: a tiny seeded PRNG, so every run sees the same samples
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const gaussian = (u: () => number) => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())

interface Workload {
  readonly name: string
  readonly median: number
  readonly sample: (u: () => number) => number
}
const normal: Workload = { name: "normal", median: 100, sample: (u) => 100 + 10 * gaussian(u) }
const lognormal05: Workload = { name: "lognormal sigma 0.5", median: 10, sample: (u) => 10 * Math.exp(0.5 * gaussian(u)) }
const lognormal10: Workload = { name: "lognormal sigma 1.0", median: 10, sample: (u) => 10 * Math.exp(gaussian(u)) }
// 90% cache hits around 2 ms, 10% misses around 50 ms
const bimodal: Workload = {
  name: "bimodal cache hit/miss",
  median: 2,
  sample: (u) => (u() < 0.9 ? 2 : 50) * Math.exp(0.2 * gaussian(u))
}

// the warm-up, seeds and workloads are those of bench/detection/synthetic.ts, which measures with more seeds
const WARM_UP = 500

const recordsPer10k = (workload: Workload, seeds: number, operations: number): number => {
  let records = 0
  for (let seed = 1; seed <= seeds; seed++) {
    const u = prng(seed)
    const detector = new StreamingDetector()
    const episodes = new AnomalyEpisodes()
    for (let i = 0; i < WARM_UP; i++) detector.assess(workload.sample(u))
    for (let i = 0; i < operations; i++) {
      if (episodes.observe(detector.assess(workload.sample(u)).isAnomaly)) records++
    }
  }
  return records / (seeds * operations) * 10_000
}

describe("StreamingDetector (latency profile, the default)", () => {
  it("is the default profile, with the threshold scaling with sensitivity", () => {
    const detector = new StreamingDetector()
    assert.strictEqual(detector.profile.name, "latency")
    assert.strictEqual(detector.threshold, detectorProfiles.latency.threshold)
    assert.approximately(new StreamingDetector({ sensitivity: 3 }).threshold, detectorProfiles.latency.threshold * 1.5, 1e-12)
    assert.strictEqual(new StreamingDetector({ profile: "metric" }).threshold, detectorProfiles.metric.threshold)
    assert.strictEqual(new StreamingDetector({ threshold: 0.42 }).threshold, 0.42)
  })

  describe("stationary workloads raise at most 1 anomaly record per 10,000 operations", () => {
    for (const workload of [normal, lognormal05, lognormal10, bimodal]) {
      it(workload.name, () => {
        const rate = recordsPer10k(workload, 5, 10_000)
        assert.isAtMost(rate, 1, `${rate} records per 10k`)
      })
    }
  })

  for (const workload of [lognormal05, normal]) {
    it(`detects a step slowdown that doubles the median within windowSize operations in 99 of 100 seeds (${workload.name})`, () => {
      let detected = 0
      for (let seed = 1; seed <= 100; seed++) {
        const u = prng(1000 + seed)
        const detector = new StreamingDetector()
        for (let i = 0; i < WARM_UP; i++) detector.assess(workload.sample(u))
        for (let i = 0; i < detector.options.windowSize; i++) {
          const a = detector.assess(2 * workload.sample(u))
          if (a.isAnomaly) {
            detected++
            break
          }
        }
      }
      assert.isAtLeast(detected, 99)
    })
  }

  it("reports a sustained moderate slowdown as a shift", () => {
    const u = prng(4000)
    const detector = new StreamingDetector()
    for (let i = 0; i < WARM_UP; i++) detector.assess(lognormal05.sample(u))
    let first: Assessment | undefined
    for (let i = 0; i < 200 && first === undefined; i++) {
      const a = detector.assess(1.5 * lognormal05.sample(u))
      if (a.isAnomaly) first = a
    }
    assert.isDefined(first)
    assert.strictEqual(first!.kind, "shift")
    assert.isAbove(first!.zScore, 0)
  })

  it("detects a step slowdown of a normal workload at once", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const u = prng(2000 + seed)
      const detector = new StreamingDetector()
      for (let i = 0; i < WARM_UP; i++) detector.assess(normal.sample(u))
      let at = -1
      for (let i = 0; i < 20 && at < 0; i++) if (detector.assess(2 * normal.sample(u)).isAnomaly) at = i
      assert.isAtLeast(at, 0)
      assert.isAtMost(at, 2)
    }
  })

  for (const workload of [normal, lognormal05]) {
    it(`flags a single spike at 20x the median (${workload.name})`, () => {
      for (let seed = 1; seed <= 100; seed++) {
        const u = prng(3000 + seed)
        const detector = new StreamingDetector()
        for (let i = 0; i < WARM_UP; i++) detector.assess(workload.sample(u))
        const a = detector.assess(20 * workload.median)
        assert.isTrue(a.isAnomaly)
        assert.strictEqual(a.kind, "spike")
        assert.isDefined(a.severity)
      }
    })
  }

  it("does not flag a cache miss of a bimodal workload", () => {
    const u = prng(5000)
    const detector = new StreamingDetector()
    for (let i = 0; i < WARM_UP; i++) detector.assess(bimodal.sample(u))
    assert.isFalse(detector.assess(20 * bimodal.median).isAnomaly)
  })

  it("keeps scores within [0, 1] on degenerate series", () => {
    const u = prng(7)
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
    const u = prng(11)
    const detector = new StreamingDetector()
    let last = detector.assess(100)
    for (let i = 0; i < 2000; i++) last = detector.assess(normal.sample(u))
    assert.approximately(last.mean, 100, 2)
    assert.approximately(last.stddev, 10, 2)
  })
})

describe("StreamingDetector (metric profile)", () => {
  it("flags a level shift of a gauge and a new extreme", () => {
    const u = prng(6000)
    const detector = new StreamingDetector({ profile: "metric" })
    for (let i = 0; i < 1000; i++) detector.assess(50 + 5 * gaussian(u))
    assert.isTrue(detector.assess(120).isAnomaly)
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
