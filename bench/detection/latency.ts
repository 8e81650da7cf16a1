/**
 * The latency contract: what the detector behind `Apm.trace` promises on
 * operation durations, measured on the seeded workloads and incidents of
 * `@mcp-apm/core/LatencyWorkload` (the tests assert the same contract with
 * fewer seeds):
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
import type { Severity } from "@mcp-apm/core/StreamingDetector"
import type { LatencyTuning } from "@mcp-apm/core/StreamingDetector"
import { AnomalyEpisodes, detectorProfiles, StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import type { Incident, Workload } from "@mcp-apm/core/LatencyWorkload"
import {
  cleanWorkloads,
  heldOutCleanWorkloads,
  heldOutIncidents,
  incidents,
  seeded,
  startIncident
} from "@mcp-apm/core/LatencyWorkload"
import { bocpd } from "./reference/bocpd.ts"
import { knnCad } from "./reference/knnCad.ts"
import { windowedGaussian } from "./reference/windowedGaussian.ts"
import type { DetectorFamily } from "./scorer.ts"

const latencyTuning = detectorProfiles.latency.tuning

export const WARM_UP = 500
export const OPERATIONS = 10_000
/** operations between the warm-up and an incident's onset */
export const SETTLE = 1000
export const WINDOW_SIZE = 20

/** One sample in, its severity out when it is flagged. */
export type Flagger = (duration: number) => Severity | undefined

/** The latency profile with some constants moved, at a sensitivity. */
const tuned = (tuning: Partial<LatencyTuning>, sensitivity = 2) => (): Flagger => {
  const detector = new StreamingDetector({ profile: "latency", windowSize: WINDOW_SIZE, sensitivity }, tuning)
  return (x) => detector.assess(x).severity
}

export const shipped: () => Flagger = tuned({})


const severities: ReadonlyArray<Severity> = ["INFO", "WARNING", "ERROR", "CRITICAL"]

export interface CleanRow {
  readonly workload: string
  readonly episodesPer10k: number
  /** episodes per 10k by their worst severity */
  readonly bySeverity: Readonly<Record<Severity, number>>
}

export const runClean = (workload: Workload, make: () => Flagger, seeds: number, seedBase = 0): CleanRow => {
  const worst: Record<Severity, number> = { INFO: 0, WARNING: 0, ERROR: 0, CRITICAL: 0 }
  let episodes = 0
  for (let seed = 1; seed <= seeds; seed++) {
    const durations = workload.start(seeded(seedBase + seed))
    const flag = make()
    const grouping = new AnomalyEpisodes(WINDOW_SIZE)
    let current: Severity | undefined
    const close = () => {
      if (current !== undefined) worst[current]++
      current = undefined
    }
    for (let i = 0; i < WARM_UP + OPERATIONS; i++) {
      const severity = flag(durations(i))
      if (i < WARM_UP) continue
      const opened = grouping.observe(severity !== undefined)
      if (opened) {
        close()
        episodes++
      }
      if (severity !== undefined && (current === undefined || rank(severity) > rank(current))) current = severity
    }
    close()
  }
  const per10k = (n: number) => n / (seeds * OPERATIONS) * 10_000
  return {
    workload: workload.name,
    episodesPer10k: per10k(episodes),
    bySeverity: {
      INFO: per10k(worst.INFO),
      WARNING: per10k(worst.WARNING),
      ERROR: per10k(worst.ERROR),
      CRITICAL: per10k(worst.CRITICAL)
    }
  }
}

const rank = (s: Severity) => severities.indexOf(s)

export interface IncidentRow {
  readonly incident: string
  readonly deadline: number
  readonly caught: number
  readonly seeds: number
  readonly medianDelay: number
  /** seeds with an alarm in the settling period before the onset */
  readonly early: number
  /** seeds where the incident reached ERROR or CRITICAL within `pageWithin` operations */
  readonly paged: number
}

/** operations after the onset within which an incident must reach ERROR to count as paged */
export const pageWithin = (incident: Incident) => Math.max(2 * incident.deadline, 100)

export const runIncident = (incident: Incident, make: () => Flagger, seeds: number, seedBase = 0): IncidentRow => {
  const delays: Array<number> = []
  let early = 0
  let paged = 0
  const onset = WARM_UP + SETTLE
  const end = onset + Math.max(incident.deadline, pageWithin(incident))
  for (let seed = 1; seed <= seeds; seed++) {
    const durations = startIncident(incident, seeded(seedBase + 10_000 + seed), onset)
    const flag = make()
    let alarmedEarly = false
    let caught = false
    let page = false
    for (let i = 0; i < end && !page; i++) {
      const severity = flag(durations(i))
      if (severity === undefined) continue
      if (i < onset) {
        if (i >= WARM_UP) alarmedEarly = true
        continue
      }
      if (!caught && i < onset + incident.deadline) {
        caught = true
        delays.push(i - onset + 1)
      }
      if (rank(severity) >= rank("ERROR") && i < onset + pageWithin(incident)) page = true
    }
    if (alarmedEarly) early++
    if (page) paged++
  }
  delays.sort((a, b) => a - b)
  return {
    incident: incident.name,
    deadline: incident.deadline,
    caught: delays.length,
    seeds,
    medianDelay: delays.length === 0 ? Number.NaN : delays[Math.floor((delays.length - 1) / 2)]!,
    early,
    paged
  }
}

export interface ContractResult {
  readonly clean: ReadonlyArray<CleanRow>
  readonly incidents: ReadonlyArray<IncidentRow>
  readonly microsPerSample: number
}

/** The workloads, incidents and seeds a contract is measured on. */
export interface ContractSet {
  readonly clean: ReadonlyArray<Workload>
  readonly incidents: ReadonlyArray<Incident>
  readonly seedBase: number
}

/** What the detector was tuned on. */
export const development: ContractSet = { clean: cleanWorkloads, incidents, seedBase: 0 }

/** Other parameters and other seeds, never tuned on. */
export const heldOut: ContractSet = { clean: heldOutCleanWorkloads, incidents: heldOutIncidents, seedBase: 1_000_000 }

export const runContract = (make: () => Flagger = shipped, seeds = 100, set: ContractSet = development): ContractResult => {
  const started = performance.now()
  const clean = set.clean.map((w) => runClean(w, make, seeds, set.seedBase))
  const rows = set.incidents.map((i) => runIncident(i, make, seeds, set.seedBase))
  const samples = seeds * set.clean.length * (WARM_UP + OPERATIONS)
  return { clean, incidents: rows, microsPerSample: (performance.now() - started) * 1000 / samples }
}

export const printContract = (name: string, result: ContractResult, seeds: number): void => {
  console.log(`\nLatency contract, ${name} (${seeds} seeds; ${WARM_UP} warm-up; episodes per 10k of ${OPERATIONS} ops)`)
  console.log("clean workload                                        episodes/10k  INFO  WARN ERROR  CRIT")
  for (const r of result.clean) {
    const s = r.bySeverity
    console.log(
      `${r.workload.padEnd(54)}${r.episodesPer10k.toFixed(2).padStart(12)}` +
        [s.INFO, s.WARNING, s.ERROR, s.CRITICAL].map((v) => v.toFixed(2).padStart(6)).join("")
    )
  }
  console.log("incident                                                    deadline   caught  median delay  early  paged")
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
      `${String(sensitivity).padEnd(12)}${mean("INFO").toFixed(2).padStart(7)}${mean("WARNING").toFixed(2).padStart(9)}` +
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
