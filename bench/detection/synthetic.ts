/**
 * Synthetic latency benchmark: the detector's contract on operation durations,
 * measured on seeded workloads with the latency profile at default settings
 * (the same workloads and seeds as `packages/core/test/StreamingDetector.test.ts`,
 * with more of them):
 *
 * - false alarms: anomaly records (episodes, gap `windowSize`) per 10,000
 *   operations of a stationary workload, after a warm-up;
 * - step: a slowdown that doubles every duration, detected within `windowSize`
 *   operations in how many seeds, and after how many operations (median);
 * - spike: a single duration at 20x the median, flagged in how many seeds.
 *
 *   node bench/detection/synthetic.ts
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { AnomalyEpisodes, StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import type { DetectorOptions, DetectorTuning } from "@mcp-apm/core/StreamingDetector"

/** mulberry32: a tiny seeded PRNG, so every run sees the same samples */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
export const gaussian = (u: () => number): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())

export interface Workload {
  readonly name: string
  readonly median: number
  readonly sample: (u: () => number) => number
}

export const workloads: ReadonlyArray<Workload> = [
  { name: "normal", median: 100, sample: (u) => 100 + 10 * gaussian(u) },
  { name: "lognormal sigma 0.5", median: 10, sample: (u) => 10 * Math.exp(0.5 * gaussian(u)) },
  { name: "lognormal sigma 1.0", median: 10, sample: (u) => 10 * Math.exp(gaussian(u)) },
  // 90% cache hits around 2 ms, 10% misses around 50 ms
  { name: "bimodal cache hit/miss", median: 2, sample: (u) => (u() < 0.9 ? 2 : 50) * Math.exp(0.2 * gaussian(u)) }
]

export const WARM_UP = 500

export interface SyntheticRow {
  readonly workload: string
  readonly recordsPer10k: number
  readonly stepDetected: number
  readonly stepSeeds: number
  readonly stepMedianDelay: number
  readonly spikeFlagged: number
  readonly spikeSeeds: number
}

export interface SyntheticOptions {
  readonly detector?: Partial<DetectorOptions>
  readonly tuning?: Partial<DetectorTuning>
  readonly fpSeeds?: number
  readonly operations?: number
  readonly stepSeeds?: number
  readonly spikeSeeds?: number
}

export const runSynthetic = (workload: Workload, o: SyntheticOptions = {}): SyntheticRow => {
  const options: Partial<DetectorOptions> = { profile: "latency", ...o.detector }
  const make = () => new StreamingDetector(options, o.tuning)
  const fpSeeds = o.fpSeeds ?? 40
  const operations = o.operations ?? 10_000
  let records = 0
  for (let seed = 1; seed <= fpSeeds; seed++) {
    const u = prng(seed)
    const detector = make()
    const episodes = new AnomalyEpisodes(detector.options.windowSize)
    for (let i = 0; i < WARM_UP; i++) detector.assess(workload.sample(u))
    for (let i = 0; i < operations; i++) {
      if (episodes.observe(detector.assess(workload.sample(u)).isAnomaly)) records++
    }
  }
  const stepSeeds = o.stepSeeds ?? 1000
  const delays: Array<number> = []
  for (let seed = 1; seed <= stepSeeds; seed++) {
    const u = prng(1000 + seed)
    const detector = make()
    for (let i = 0; i < WARM_UP; i++) detector.assess(workload.sample(u))
    for (let i = 0; i < detector.options.windowSize; i++) {
      if (detector.assess(2 * workload.sample(u)).isAnomaly) {
        delays.push(i + 1)
        break
      }
    }
  }
  delays.sort((a, b) => a - b)
  const spikeSeeds = o.spikeSeeds ?? 100
  let spikes = 0
  for (let seed = 1; seed <= spikeSeeds; seed++) {
    const u = prng(3000 + seed)
    const detector = make()
    for (let i = 0; i < WARM_UP; i++) detector.assess(workload.sample(u))
    if (detector.assess(20 * workload.median).isAnomaly) spikes++
  }
  return {
    workload: workload.name,
    recordsPer10k: records / (fpSeeds * operations) * 10_000,
    stepDetected: delays.length,
    stepSeeds,
    stepMedianDelay: delays.length === 0 ? Number.NaN : delays[Math.floor((delays.length - 1) / 2)]!,
    spikeFlagged: spikes,
    spikeSeeds
  }
}

export const runSyntheticBench = (o: SyntheticOptions & { readonly log?: boolean } = {}): ReadonlyArray<SyntheticRow> => {
  const rows = workloads.map((w) => runSynthetic(w, o))
  if (o.log !== false) {
    const fpSeeds = o.fpSeeds ?? 40
    console.log(
      `\nSynthetic latency workloads (latency profile, default settings; ${WARM_UP} warm-up, ` +
        `${fpSeeds} x ${o.operations ?? 10_000} ops, records = episodes with gap windowSize)`
    )
    console.log("workload                  records/10k   2x step within windowSize (median delay)   20x spike flagged")
    for (const r of rows) {
      console.log(
        `${r.workload.padEnd(26)}${r.recordsPer10k.toFixed(2).padStart(11)}` +
          `${`${r.stepDetected} / ${r.stepSeeds}`.padStart(16)}  (${r.stepMedianDelay})`.padEnd(43) +
          `${`${r.spikeFlagged} / ${r.spikeSeeds}`.padStart(20)}`
      )
    }
  }
  return rows
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runSyntheticBench()
}
