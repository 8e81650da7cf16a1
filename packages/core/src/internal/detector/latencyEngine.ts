/**
 * The latency engine: what `Apm.trace` runs over every operation's
 * durations. The design and the measurements behind each choice are in
 * `bench/detection/README.md`; in short:
 *
 * - Durations are judged on a log scale (`asinh(x / c)`, a log for any
 *   realistic duration, defined at zero), against a reference: a decayed
 *   empirical CDF of the durations up to `windowSize` operations ago, so the
 *   samples being judged are not part of their own reference.
 * - Level: each duration becomes a normal score (its reference CDF through
 *   the inverse normal CDF), standard normal whatever the workload's shape
 *   while nothing changes; the sum of the last `windowSize` scores over its
 *   deviation, above `windowZ`, is a sustained slowdown, provided the recent
 *   median is also at least `minimumSlowdown` times the reference median:
 *   load swings smaller than that are routine, not incidents.
 * - Tail: the rate of operations slower than `tailFactor` times the
 *   reference p90, and than its square times, against those rates in a
 *   longer reference, each in a Bernoulli CUSUM (Page 1954) tuned for a
 *   fourfold rate: a tail that grows while the median stays. A level change
 *   (load drift: a running median moving `levelStep` per operation, against
 *   the reference median) is taken out first.
 * - Spike: one duration beyond the reference p99 by `spikeFactor`, or by
 *   `spikeSlopes` times the tail's own log-slope (p99 over p90) when that
 *   is wider, so a power-law tail does not flag its own extremes.
 *
 * Scores are linear in the evidence and reach the profile threshold at the
 * tuned limits, so `sensitivity` asks for proportionally more of each.
 * Severity: a spike is INFO; a shift is WARNING until it has been flagged
 * on `windowSize / 2` operations of its episode, then graded by its
 * slowdown (recent median over the reference median): ERROR from 1.5x (or
 * for a grown tail), CRITICAL from 3x.
 */
import type { AnomalyKind } from "../../AnomalyKind.ts"
import type { Severity } from "../../Severity.ts"
import { clamp01, DecayedCdf, Moments, normalQuantile, Window } from "./statistics.ts"
import type { Assessment, Engine } from "./engine.ts"

export interface LatencyTuning {
  /** horizon, in samples, of the reference distribution of the level channel */
  readonly horizon: number
  /** horizon of the reference distribution of the tail and spike channels */
  readonly tailHorizon: number
  /** horizon of the level statistic's own long-run spread (0: assume 1) */
  readonly spreadHorizon: number
  /** the spread assumed before any speed-up has been seen */
  readonly initialSpread: number
  /** z of the sum of the last `windowSize` normal scores that reaches the threshold */
  readonly windowZ: number
  /** reference k of the level CUSUM over normal scores, in their units (half the shift it is quickest for) */
  readonly cusumReference: number
  /** the level CUSUM's limit at the threshold */
  readonly cusumLimit: number
  /** a level shift must also make the recent median this many times the reference median */
  readonly minimumSlowdown: number
  /** the tail channel counts durations beyond this many times the reference p90 */
  readonly tailFactor: number
  /** how far, in log duration, the tail channel's running median of the level moves per operation */
  readonly levelStep: number
  /** the tail CUSUM's limit at the threshold */
  readonly tailLimit: number
  /** a spike is at least this many times the reference p99 */
  readonly spikeFactor: number
  /** ... and at least this many times the tail's log-slope (p99 over p90) beyond the p99 */
  readonly spikeSlopes: number
}

export const latencyTuning: LatencyTuning = {
  horizon: 250,
  tailHorizon: 1000,
  spreadHorizon: 1000,
  initialSpread: 1.5,
  windowZ: 3.6,
  cusumReference: 0.35,
  cusumLimit: 12,
  minimumSlowdown: 1.3,
  tailFactor: 1.4,
  levelStep: 0.005,
  tailLimit: 8,
  spikeFactor: 10,
  spikeSlopes: 3
}

// 1024 bins of 2% in log duration, centred on the first duration, cover a factor e^10 (22,000) either way
const cdfBins = 1024
const cdfWidth = 0.02
// the tail CUSUM is tuned for a rate this many times the reference's
const tailRateRatio = 4
const winsorLimit = 4
const tailRefresh = 8

// the tail channel counts durations beyond p90 times tailFactor, and beyond p90 times its square: a few
// slow outliers more (a lock) and many a little slower (a cache-miss share) each have a cut that suits them
const tailCutCount = 2

/** what the tail and spike channels read off the tail reference */
interface TailReference {
  readonly stale: boolean
  /** the median, in log duration */
  readonly median: number
  readonly p90: number
  readonly p99: number
}

/** one Bernoulli CUSUM per cut: its offset above p90 (log), its steps beyond and within the cut, its value */
interface TailCuts {
  readonly offset: Float64Array
  readonly exceeding: Float64Array
  readonly within: Float64Array
  readonly cusum: Float64Array
}
// the level statistic's mean square starts as if this many stationary samples (mean square 1) had been seen
const spreadPrior = 100

export class LatencyEngine implements Engine {
  private readonly tuning: LatencyTuning
  private readonly profileThreshold: number
  private readonly threshold: number
  private readonly minSamples: number
  private n = 0
  private scale = 1e-9
  private scaled = false
  private readonly reference: DecayedCdf
  private readonly tailReference: DecayedCdf
  private spread: number
  private meanSquare: number
  private spreadWeight: number
  private readonly level: Moments
  private readonly raw: Moments
  private readonly recent: Window
  private readonly sorted: Float64Array
  private readonly scores: Window
  private tails: TailReference = { stale: true, median: 0, p90: 0, p99: 0 }
  private quietRun = 0
  private episodeFlags = 0
  private level50 = 0
  private readonly tailCuts: TailCuts
  private cusum = 0

  constructor(
    tuning: LatencyTuning,
    windowSize: number,
    minSamples: number,
    profileThreshold: number,
    threshold: number
  ) {
    this.tuning = tuning
    this.profileThreshold = profileThreshold
    this.threshold = threshold
    this.minSamples = minSamples
    this.reference = new DecayedCdf(tuning.horizon, cdfBins, cdfWidth)
    this.tailReference = new DecayedCdf(tuning.tailHorizon, cdfBins, cdfWidth)
    this.tailCuts = {
      offset: Float64Array.from({ length: tailCutCount }, (_, k) => (k + 1) * Math.log(tuning.tailFactor)),
      exceeding: new Float64Array(tailCutCount),
      within: new Float64Array(tailCutCount),
      cusum: new Float64Array(tailCutCount)
    }
    this.spreadWeight = spreadPrior
    this.spread = tuning.spreadHorizon > 0 ? tuning.initialSpread : 1
    this.meanSquare = this.spread * this.spread
    this.level = new Moments(tuning.horizon)
    this.raw = new Moments(1000)
    this.recent = new Window(windowSize)
    this.sorted = new Float64Array(this.recent.size)
    this.scores = new Window(windowSize)
  }

  private transform(x: number): number {
    // a thousandth of the first positive duration puts every realistic duration in the logarithmic part of asinh
    if (!this.scaled && x > 0) {
      this.scale = x / 1000
      this.scaled = true
    }
    const t = Math.asinh(x / this.scale)
    // asinh of the largest double is 710.5: an overflowing ratio is as far as a double can go
    return Number.isFinite(t) ? t : Math.sign(x) * 711
  }

  /** the median of the recent raw durations, kept sorted by insertion: O(windowSize), no allocation */
  private recentMedian(x: number): number {
    const sorted = this.sorted
    let length = Math.min(this.recent.n, this.recent.size)
    if (this.recent.full) {
      const leaving = this.recent.oldest
      let i = 0
      while (i < length - 1 && sorted[i] !== leaving) i++
      for (; i < length - 1; i++) sorted[i] = sorted[i + 1]!
      length--
    }
    let j = length
    while (j > 0 && sorted[j - 1]! > x) {
      sorted[j] = sorted[j - 1]!
      j--
    }
    sorted[j] = x
    length++
    this.recent.push(x)
    const mid = length >> 1
    return length % 2 === 1 ? sorted[mid]! : 0.5 * (sorted[mid - 1]! + sorted[mid]!)
  }

  private refreshTails(): void {
    const tails = this.tailReference
    const p90 = tails.quantile(0.9)
    const cut = this.tailCuts
    for (let k = 0; k < cut.offset.length; k++) {
      const p0 = 1 - tails.cdf(p90 + cut.offset[k]!)
      const p1 = Math.min(0.95, tailRateRatio * p0)
      cut.exceeding[k] = Math.log(p1 / p0)
      cut.within[k] = Math.log((1 - p1) / (1 - p0))
    }
    this.tails = { stale: false, median: tails.quantile(0.5), p90, p99: tails.quantile(0.99) }
  }

  private toDuration(y: number): number {
    return Math.sinh(y) * this.scale
  }

  assess(x: number): Assessment {
    const n = ++this.n
    const y = this.transform(x)
    const w = this.recent.size
    const leaving = this.recent.full ? this.transform(this.recent.oldest) : 0
    const median = this.recentMedian(x)
    const ready = this.reference.total > 0
    const normalScore = normalQuantile(ready ? this.reference.cdf(y) : 0.5)
    this.scores.push(normalScore)

    const referenceMedian = ready ? this.toDuration(this.reference.quantile(0.5)) : x
    const slowdown = referenceMedian > 0 ? median / referenceMedian : median > 0 ? Number.POSITIVE_INFINITY : 1
    // the tail reference (horizon `tailHorizon`) moves by a fraction of a percent per sample: its quantiles
    // and rates are refreshed every `tailRefresh` samples, which halves the engine's cost
    if (ready && (n % tailRefresh === 0 || this.tails.stale)) this.refreshTails()
    const tails = this.tails
    const p90 = ready ? tails.p90 : y
    const p99 = ready ? tails.p99 : y
    // the tail channel asks about the shape, so a level change (load drift; judged by the level channel) is
    // taken out first. The level is a median that moves a fixed step per operation (stochastic approximation):
    // it keeps up with drift without lagging a horizon, few outliers hardly move it, and unlike the recent
    // window's median it is not noisy and does not jump between the modes of a mixture
    this.level50 = n === 1 ? y : this.level50 + this.tuning.levelStep * Math.sign(y - this.level50)
    const levelChange = ready && this.level50 > tails.median ? this.level50 - tails.median : 0
    const cut = this.tailCuts
    let tail = 0
    for (let k = 0; k < cut.offset.length; k++) {
      const beyond = y - levelChange > p90 + cut.offset[k]!
      const s = Math.max(0, cut.cusum[k]! + (beyond ? cut.exceeding[k]! : cut.within[k]!))
      cut.cusum[k] = s
      if (s > tail) tail = s
    }

    const zValue = (y - this.level.mean) / (this.level.sd() + 1e-9)
    this.raw.update(x, winsorLimit)
    if (n > w) {
      this.reference.add(leaving)
      this.tailReference.add(leaving)
      this.level.update(leaving, winsorLimit)
    }
    // the reference must hold `minSamples` durations before anything is judged against it
    if (n <= this.minSamples + w) {
      this.tailCuts.cusum.fill(0)
      this.cusum = 0
      this.scores.clear()
      return this.quiet(zValue)
    }

    const t = this.profileThreshold
    const spikeMargin = Math.max(Math.log(this.tuning.spikeFactor), this.tuning.spikeSlopes * (p99 - p90))
    const spiked = clamp01(t * (y - p99) / spikeMargin)
    const statistic = this.scores.sum / Math.sqrt(w)
    // the statistic is standard normal while nothing changes; a workload whose level wanders (load) spreads
    // it wider, and its long-run root mean square, never below 1, is the unit it is judged in. Only the
    // speed-ups teach it: load wanders both ways, while a slowdown being judged must not raise its own bar
    const windowed = statistic / this.spread
    if (this.tuning.spreadHorizon > 0 && statistic < 0) {
      const clipped = Math.min(statistic * statistic, this.tuning.windowZ * this.tuning.windowZ)
      this.spreadWeight = Math.min(this.spreadWeight + 1, this.tuning.spreadHorizon)
      this.meanSquare += (clipped - this.meanSquare) / this.spreadWeight
      this.spread = Math.sqrt(Math.max(1, this.meanSquare))
    }
    // the slowdown gate scales with the threshold too: a higher sensitivity asks for a larger slowdown
    const gate = slowdown > 1 ? Math.log(slowdown) / Math.log(this.tuning.minimumSlowdown) : 0
    this.cusum = Math.max(0, this.cusum + normalScore / this.spread - this.tuning.cusumReference)
    const evidence = Math.max(windowed / this.tuning.windowZ, this.cusum / this.tuning.cusumLimit)
    const levelled = clamp01(t * Math.min(evidence, gate))
    if (this.cusum > 1.5 * this.tuning.cusumLimit) this.cusum = 1.5 * this.tuning.cusumLimit
    const tailed = clamp01(t * tail / this.tuning.tailLimit)
    // a sustained tail stays flagged while it lasts; capping the CUSUMs lets them fall back soon after
    for (let k = 0; k < cut.cusum.length; k++) cut.cusum[k] = Math.min(cut.cusum[k]!, 1.5 * this.tuning.tailLimit)
    const shifted = Math.max(levelled, tailed)
    const score = Math.max(spiked, shifted)
    const kind: AnomalyKind = spiked > shifted ? "spike" : "shift"
    const isAnomaly = score >= this.threshold
    // ERROR and CRITICAL are pages: only a shift flagged on `windowSize / 2` operations of its episode so far
    // earns them, graded by the recent median against the reference's (a grown tail, whose median stays,
    // is an ERROR); a blip stays a WARNING
    const shiftFlagged = isAnomaly && kind === "shift"
    this.quietRun = shiftFlagged ? 0 : this.quietRun + 1
    this.episodeFlags = shiftFlagged ? this.episodeFlags + 1 : this.quietRun >= w ? 0 : this.episodeFlags
    const sustained = this.episodeFlags >= w / 2
    const severity: Severity | undefined = !isAnomaly
      ? undefined
      : kind === "spike"
      ? "INFO"
      : sustained && slowdown >= 3
      ? "CRITICAL"
      : sustained && (slowdown >= 1.5 || tailed > levelled)
      ? "ERROR"
      : "WARNING"
    return {
      score,
      zScore: kind === "spike" ? zValue : statistic,
      isAnomaly,
      severity,
      kind: isAnomaly ? kind : undefined,
      mean: this.raw.mean,
      stddev: this.raw.sd()
    }
  }

  private quiet(zScore: number): Assessment {
    return {
      score: 0,
      zScore,
      isAnomaly: false,
      severity: undefined,
      kind: undefined,
      mean: this.raw.mean,
      stddev: this.raw.sd()
    }
  }
}
