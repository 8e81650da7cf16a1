/**
 * The latency contract: what the detector behind `Apm.trace` promises on
 * operation durations, measured on the seeded workloads and incidents of
 * `LatencyWorkload` of `@mcp-apm/core/testing`, counted by its `LatencyContract`
 * (the tests assert the same contract with fewer seeds):
 *
 * - clean workloads: at most 1 alarm episode per 10,000 operations (episodes
 *   as `AnomalyEpisodes` groups them, gap `windowSize`), counted after a
 *   500-operation warm-up, with the episodes' worst severities;
 * - incidents: caught within their deadline in at least 99% of seeds, and
 *   after how many operations (median).
 *
 * Beside it: the reference detectors of `reference/` on the same workloads,
 * each constant of the latency profile moved by -20% and +25%, and the
 * rates by severity at each `anomalyDetectionSensitivity`.
 *
 *   node bench/detection/latency.ts [--seeds N]
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Severity } from "@mcp-apm/core/Severity"
import type { LatencyTuning } from "@mcp-apm/core/StreamingDetector"
import { detectorProfiles, StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import type { CleanRow, ContractSet, Flagger, IncidentRow } from "@mcp-apm/core/testing/LatencyContract"
import {
  development,
  heldOut,
  operations,
  runClean,
  runIncident,
  shipped,
  warmUp
} from "@mcp-apm/core/testing/LatencyContract"
import { bocpd } from "./reference/bocpd.ts"
import { knnCad } from "./reference/knnCad.ts"
import { windowedGaussian } from "./reference/windowedGaussian.ts"
import type { DetectorFamily } from "./scorer.ts"

const latencyTuning = detectorProfiles.latency.tuning

/** The latency profile with some constants moved, at a sensitivity. */
const tuned = (tuning: Partial<LatencyTuning>, sensitivity = 2) => (): Flagger => {
  const detector = new StreamingDetector({ profile: "latency", sensitivity }, tuning)
  return (x) => detector.assess(x).severity
}

export interface ContractResult {
  readonly clean: ReadonlyArray<CleanRow>
  readonly incidents: ReadonlyArray<IncidentRow>
  readonly microsPerSample: number
}

export const runContract = (
  make: () => Flagger = shipped,
  seeds = 100,
  set: ContractSet = development
): ContractResult => {
  const started = performance.now()
  const clean = set.clean.map((w) => runClean(w, make, seeds, set.seedBase))
  const rows = set.incidents.map((i) => runIncident(i, make, seeds, set.seedBase))
  const samples = seeds * set.clean.length * (warmUp + operations)
  return { clean, incidents: rows, microsPerSample: (performance.now() - started) * 1000 / samples }
}

export const printContract = (name: string, result: ContractResult, seeds: number): void => {
  console.log(`\nLatency contract, ${name} (${seeds} seeds; ${warmUp} warm-up; episodes per 10k of ${operations} ops)`)
  console.log("clean workload                                        episodes/10k  INFO  WARN ERROR  CRIT")
  for (const r of result.clean) {
    const s = r.bySeverity
    console.log(
      `${r.workload.padEnd(54)}${r.episodesPer10k.toFixed(2).padStart(12)}` +
        [s.INFO, s.WARNING, s.ERROR, s.CRITICAL].map((v) => v.toFixed(2).padStart(6)).join("")
    )
  }
  console.log(
    "incident                                                    deadline   caught  median delay  early  paged"
  )
  for (const r of result.incidents) {
    console.log(
      `${r.incident.padEnd(60)}${String(r.deadline).padStart(8)}${`${r.caught}/${r.seeds}`.padStart(9)}` +
        `${String(r.medianDelay).padStart(14)}${String(r.early).padStart(7)}${String(r.paged).padStart(7)}`
    )
  }
  console.log(`(${result.microsPerSample.toFixed(2)} us per sample, harness included)`)
}

/** A reference detector's shipped tuning as a flagger: it knows no severity, so every flag is a WARNING. */
const reference = <P>(family: DetectorFamily<P>) => (): Flagger => {
  const scorer = family.make(family.shipped)
  const threshold = family.threshold(family.shipped)
  return (x) => (scorer.next(x) >= threshold ? "WARNING" : undefined)
}

const summary = (r: ContractResult) => ({
  worstClean: Math.max(...r.clean.map((c) => c.episodesPer10k)),
  meanClean: r.clean.reduce((s, c) => s + c.episodesPer10k, 0) / r.clean.length,
  leastCaught: Math.min(...r.incidents.map((i) => i.caught / i.seeds)),
  meanCaught: r.incidents.reduce((s, i) => s + i.caught / i.seeds, 0) / r.incidents.length
})

const printSummary = (label: string, r: ContractResult) => {
  const s = summary(r)
  console.log(
    `${label.padEnd(40)}${s.worstClean.toFixed(2).padStart(10)}${s.meanClean.toFixed(2).padStart(10)}` +
      `${(100 * s.leastCaught).toFixed(0).padStart(10)}%${(100 * s.meanCaught).toFixed(1).padStart(10)}%`
  )
}

/** Everything: the shipped contract, the reference detectors, each constant moved, and the sensitivity setting. */
export const runLatencyBench = (seeds = 100, sideSeeds = 20): ContractResult => {
  const result = runContract(shipped, seeds)
  printContract("shipped latency profile, development workloads and seeds", result, seeds)
  printContract("shipped latency profile, held-out workloads and seeds", runContract(shipped, seeds, heldOut), seeds)
  console.log(`
Reference detectors on the same workloads (shipped tunings, ${sideSeeds} seeds; flags at their threshold)`)
  console.log("detector                                worst clean  mean clean  least caught  mean caught")
  printSummary("shipped latency profile", runContract(shipped, sideSeeds))
  for (const family of [windowedGaussian, knnCad, bocpd] as ReadonlyArray<DetectorFamily<any>>) {
    printSummary(family.name, runContract(reference(family), sideSeeds))
  }
  console.log(`
Sensitivity: each constant times 0.8 and 1.25, the others shipped (${sideSeeds} seeds)`)
  console.log("constant = value                        worst clean  mean clean  least caught  mean caught")
  for (const [name, value] of Object.entries(latencyTuning) as ReadonlyArray<[keyof LatencyTuning, number]>) {
    for (const factor of [0.8, 1.25]) {
      const moved = { [name]: value * factor } as Partial<LatencyTuning>
      printSummary(`${name} = ${+(value * factor).toFixed(3)}`, runContract(tuned(moved), sideSeeds))
    }
  }
  console.log(`
anomalyDetectionSensitivity: clean episodes per 10k by worst severity (mean over the clean workloads)`)
  console.log("sensitivity    INFO  WARNING  ERROR  CRITICAL   least caught  mean caught")
  for (const sensitivity of [1, 1.5, 2, 3, 4]) {
    const r = runContract(tuned({}, sensitivity), sideSeeds)
    const mean = (k: Severity) => r.clean.reduce((s, c) => s + c.bySeverity[k], 0) / r.clean.length
    const s = summary(r)
    console.log(
      `${String(sensitivity).padEnd(12)}${mean("INFO").toFixed(2).padStart(7)}${
        mean("WARNING").toFixed(2).padStart(9)
      }` +
        `${mean("ERROR").toFixed(2).padStart(7)}${mean("CRITICAL").toFixed(2).padStart(10)}` +
        `${(100 * s.leastCaught).toFixed(0).padStart(14)}%${(100 * s.meanCaught).toFixed(1).padStart(12)}%`
    )
  }
  return result
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf("--seeds")
  runLatencyBench(at > 0 ? Number(process.argv[at + 1]) : 100)
}
