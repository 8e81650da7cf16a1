/**
 * `LatencyContract`: the latency detector's contract, measured on the seeded
 * workloads and incidents of `LatencyWorkload`. On every clean workload, at
 * most one alarm episode per 10,000 operations after a warm-up (episodes as
 * `AnomalyEpisodes` groups them); every incident caught within its deadline,
 * and paged (ERROR or worse) within `pageWithin`. The detector's tests hold
 * it on fewer seeds, `bench/detection/latency.ts` reports it in full: both
 * count with these functions, so that they measure the same thing.
 *
 * @since 0.1.0
 */
import type { Severity } from "../Severity.ts"
import { severityRank } from "../Severity.ts"
import { AnomalyEpisodes, defaultDetectorOptions, StreamingDetector } from "../StreamingDetector.ts"
import type { Incident, Workload } from "./LatencyWorkload.ts"
import {
  cleanWorkloads,
  heldOutCleanWorkloads,
  heldOutIncidents,
  incidents,
  seeded,
  startIncident
} from "./LatencyWorkload.ts"

/**
 * One sample in, its severity out when it is flagged.
 *
 * @category models
 * @since 0.1.0
 */
export type Flagger = (duration: number) => Severity | undefined

/**
 * The detector behind `Apm.trace`, at its defaults, as a flagger.
 *
 * @category constructors
 * @since 0.1.0
 */
export const shipped = (): Flagger => {
  const detector = new StreamingDetector()
  return (x) => detector.assess(x).severity
}

/**
 * Operations fed before a clean workload's alarms count.
 *
 * @category constants
 * @since 0.1.0
 */
export const warmUp = 500

/**
 * Operations of a clean workload whose alarm episodes count.
 *
 * @category constants
 * @since 0.1.0
 */
export const operations = 10_000

/**
 * Operations between the warm-up and an incident's onset.
 *
 * @category constants
 * @since 0.1.0
 */
export const settle = 1000

/**
 * The index of an incident's first changed operation.
 *
 * @category constants
 * @since 0.1.0
 */
export const onset = warmUp + settle

/**
 * Alarm episodes of one clean workload, per 10,000 operations, in all and
 * by their worst severity.
 *
 * @category models
 * @since 0.1.0
 */
export interface CleanRow {
  readonly workload: string
  readonly episodesPer10k: number
  readonly bySeverity: Readonly<Record<Severity, number>>
}

/**
 * Runs `workload` on `seeds` seeds (from `seedBase + 1`), a fresh flagger
 * each, and counts the alarm episodes after the warm-up.
 *
 * @category runs
 * @since 0.1.0
 */
export const runClean = (workload: Workload, make: () => Flagger, seeds: number, seedBase = 0): CleanRow => {
  const worst: Record<Severity, number> = { INFO: 0, WARNING: 0, ERROR: 0, CRITICAL: 0 }
  let episodes = 0
  for (let seed = 1; seed <= seeds; seed++) {
    const durations = workload.start(seeded(seedBase + seed))
    const flag = make()
    const grouping = new AnomalyEpisodes(defaultDetectorOptions.windowSize)
    let current: Severity | undefined
    const close = () => {
      if (current !== undefined) worst[current]++
      current = undefined
    }
    for (let i = 0; i < warmUp + operations; i++) {
      const severity = flag(durations(i))
      if (i < warmUp) continue
      if (grouping.observe(severity !== undefined)) {
        close()
        episodes++
      }
      if (severity !== undefined && (current === undefined || severityRank[severity] > severityRank[current])) {
        current = severity
      }
    }
    close()
  }
  const per10k = (n: number) => n / (seeds * operations) * 10_000
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

/**
 * How one incident was caught over the seeds.
 *
 * @category models
 * @since 0.1.0
 */
export interface IncidentRow {
  readonly incident: string
  readonly deadline: number
  /** seeds with an alarm within the deadline */
  readonly caught: number
  readonly seeds: number
  readonly medianDelay: number
  /** seeds with an alarm in the settling period before the onset */
  readonly early: number
  /** seeds where the incident reached ERROR or CRITICAL within `pageWithin` operations */
  readonly paged: number
}

/**
 * Operations after the onset within which an incident must reach ERROR to
 * count as paged.
 *
 * @category runs
 * @since 0.1.0
 */
export const pageWithin = (incident: Incident): number => Math.max(2 * incident.deadline, 100)

/**
 * Runs `incident` on `seeds` seeds (from `seedBase + 10,001`), a fresh
 * flagger each, the incident starting at `onset`.
 *
 * @category runs
 * @since 0.1.0
 */
export const runIncident = (incident: Incident, make: () => Flagger, seeds: number, seedBase = 0): IncidentRow => {
  const delays: Array<number> = []
  let early = 0
  let paged = 0
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
        if (i >= warmUp) alarmedEarly = true
        continue
      }
      if (!caught && i < onset + incident.deadline) {
        caught = true
        delays.push(i - onset + 1)
      }
      if (severityRank[severity] >= severityRank.ERROR && i < onset + pageWithin(incident)) page = true
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

/**
 * The workloads, incidents and seeds a contract is measured on.
 *
 * @category models
 * @since 0.1.0
 */
export interface ContractSet {
  readonly clean: ReadonlyArray<Workload>
  readonly incidents: ReadonlyArray<Incident>
  readonly seedBase: number
}

/**
 * What the detector was tuned on.
 *
 * @category constants
 * @since 0.1.0
 */
export const development: ContractSet = { clean: cleanWorkloads, incidents, seedBase: 0 }

/**
 * Other parameters and other seeds, never tuned on.
 *
 * @category constants
 * @since 0.1.0
 */
export const heldOut: ContractSet = { clean: heldOutCleanWorkloads, incidents: heldOutIncidents, seedBase: 1_000_000 }
