/**
 * The metric engine: gauges and counters (CPU %, bytes, request counts), as
 * `mcp-apm detect` scores them by default; measured on the Numenta Anomaly
 * Benchmark (`bench/detection/README.md`). Raw values (a level change of a
 * gauge is additive), and the score is the largest of:
 *
 * - value likelihood: how surprising is the value under a Gaussian fitted to
 *   the history, through Numenta's anomaly likelihood (Ahmad et al. 2017):
 *   the average surprise of the last 10 samples against the long-run
 *   distribution of that average, so that series which are always noisy
 *   learn that they are and one threshold serves all;
 * - density likelihood: the same over how rare the value's neighbourhood is
 *   in a decayed histogram (a Gaussian cannot describe a bimodal series);
 * - slow likelihood: the same over the larger surprise averaged over
 *   `slowLikelihoodWindow` samples, for mild but lasting changes;
 * - range: a value beyond the range seen so far by more than
 *   `rangeTolerance` of that range scores 1 (Numenta's "spatial anomaly").
 *
 * One event, one alarm: a score at or above the threshold within
 * `windowSize` samples of the previous alarm continues the same event and is
 * capped below the threshold.
 */
import type { Severity } from "../../Severity.ts"
import type { Assessment, Engine } from "./engine.ts"
import { DensityHistogram, Likelihood, Moments, twoSided } from "./statistics.ts"

export interface MetricTuning {
  /** horizon, in samples, of the long-run moments */
  readonly horizon: number
  /** horizon of the histogram and of the likelihood distributions */
  readonly likelihoodHorizon: number
  /** at most this many histogram bins */
  readonly maxBins: number
  /** a new extreme beyond the seen range by this fraction of it scores 1; 0 disables */
  readonly rangeTolerance: number
  /** averaging window of the slow likelihood (0 disables) */
  readonly slowLikelihoodWindow: number
}

export const metricTuning: MetricTuning = {
  horizon: 500,
  likelihoodHorizon: 2000,
  maxBins: 16,
  rangeTolerance: 0.1,
  slowLikelihoodWindow: 100
}

const winsorLimit = 4
const likelihoodWindow = 10

/** Severity by how far above the threshold the score lies, in quarters of the remaining range. */
const severityOf = (score: number, threshold: number): Severity => {
  const margin = threshold >= 1 ? 1 : (score - threshold) / (1 - threshold)
  return margin >= 0.75 ? "CRITICAL" : margin >= 0.5 ? "ERROR" : margin >= 0.25 ? "WARNING" : "INFO"
}

export class MetricEngine implements Engine {
  private readonly tuning: MetricTuning
  private readonly threshold: number
  private readonly minSamples: number
  private readonly refractory: number
  private n = 0
  private readonly value: Moments
  private readonly histogram: DensityHistogram
  private readonly valueLikelihood: Likelihood
  private readonly densityLikelihood: Likelihood
  private readonly slowLikelihood: Likelihood | undefined
  private sinceRed = Number.POSITIVE_INFINITY
  private min = Number.POSITIVE_INFINITY
  private max = Number.NEGATIVE_INFINITY

  constructor(tuning: MetricTuning, windowSize: number, minSamples: number, threshold: number) {
    this.tuning = tuning
    this.threshold = threshold
    this.minSamples = minSamples
    this.refractory = Math.max(1, Math.round(windowSize))
    this.value = new Moments(tuning.horizon)
    this.histogram = new DensityHistogram(tuning.maxBins, tuning.likelihoodHorizon)
    this.valueLikelihood = new Likelihood(tuning.likelihoodHorizon, likelihoodWindow)
    this.densityLikelihood = new Likelihood(tuning.likelihoodHorizon, likelihoodWindow)
    this.slowLikelihood = tuning.slowLikelihoodWindow > 0
      ? new Likelihood(tuning.likelihoodHorizon, tuning.slowLikelihoodWindow)
      : undefined
  }

  assess(x: number): Assessment {
    const n = ++this.n
    const warm = n > this.minSamples
    const floor = 1e-9 + 1e-6 * Math.abs(this.value.mean)
    const zValue = n === 1 ? 0 : (x - this.value.mean) / (this.value.sd() + floor)
    const densitySurprise = this.histogram.surprise(x)
    const density = this.densityLikelihood.next(densitySurprise)
    if (n >= this.minSamples) this.histogram.add(x, this.value.sd() * 0.25 + floor)
    const valueSurprise = twoSided(zValue)
    const valued = this.valueLikelihood.next(valueSurprise)
    const slow = this.slowLikelihood?.next(Math.max(densitySurprise, valueSurprise)) ?? 0
    this.value.update(x, winsorLimit)

    let score = warm ? Math.max(density, valued, slow) : 0
    // one event, one alarm: a red sample within `windowSize` of the previous red one continues that event
    const red = score >= this.threshold
    this.sinceRed++
    if (red && this.sinceRed <= this.refractory) score = Math.min(score, 0.6 * this.threshold)
    if (red) this.sinceRed = 0
    const span = this.max - this.min
    const tolerance = this.tuning.rangeTolerance
    if (warm && tolerance > 0 && (x > this.max + tolerance * span || x < this.min - tolerance * span)) {
      // a new extreme is news unless it follows an alarm within the refractory period: a spiky series
      // breaking its record again and again during one event is still one event
      if (red || this.sinceRed > this.refractory) {
        score = 1
        this.sinceRed = 0
      }
    }
    if (x < this.min) this.min = x
    if (x > this.max) this.max = x
    const isAnomaly = warm && score >= this.threshold
    return {
      score: warm ? score : 0,
      zScore: zValue,
      isAnomaly,
      severity: isAnomaly ? severityOf(score, this.threshold) : undefined,
      kind: isAnomaly ? "spike" : undefined,
      mean: this.value.mean,
      stddev: this.value.sd()
    }
  }
}
