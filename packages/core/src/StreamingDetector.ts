/**
 * A pure, streaming anomaly detector: one number in, one assessment out, with
 * O(1) work and memory per sample. It has no dependencies and no clock, so the
 * Apm layer can run one per operation on the hot path, and tests, the NAB
 * benchmark (`bench/detection`) and the `mcp-apm detect` command can replay
 * series through it deterministically.
 *
 * ## Two profiles, chosen by the kind of data
 *
 * Operation durations and arbitrary metrics are different data types, and no
 * one set of statistics serves both (`bench/detection/README.md` logs the
 * attempts): what makes a metric anomalous (a value never seen before, a value
 * in a rare part of the histogram) is routine for a heavy-tailed latency, and
 * what keeps latencies quiet (judging them on a log scale) blurs the level
 * changes of a metric. So the detector has two named profiles, each a preset
 * of `DetectorTuning` plus a default threshold. The profile is chosen by what
 * the series *is*, never per series: the Apm layer uses `"latency"` for every
 * traced operation; `mcp-apm detect` uses `"metric"` unless told otherwise.
 *
 * ### `"latency"`: operation durations (positive, heavy-tailed, multimodal)
 *
 * - Durations are judged on a log scale, `asinh(x / c)` with `c` a thousandth
 *   of the first duration: that is `log(2 x / c)` for any realistic duration,
 *   so a lognormal becomes a Gaussian and "twice as slow" is the same distance
 *   at any speed, yet zeros stay defined.
 * - Sustained slowdowns: a one-sided CUSUM (Page 1954) over the normal scores
 *   of the log durations. Each duration is mapped through the empirical CDF of
 *   the history (a decayed, finely binned histogram of log durations in a
 *   Fenwick tree: O(log bins) per sample) and then through the inverse normal
 *   CDF. The history lags `windowSize` samples behind: the samples being
 *   judged are not yet part of their own reference, so a slowdown does not
 *   lower the scores of its later samples. Whatever the shape of the
 *   workload (lognormal, cache hit / miss modes), these scores are standard normal while nothing changes, so one
 *   CUSUM limit gives the same false-alarm rate on every workload; a mean and
 *   standard deviation would not (cache misses sit three deviations above the
 *   mean of a bimodal workload and keep pushing a CUSUM up). The CUSUM's
 *   reference `k` is half the shift it is tuned for (a doubling of a lognormal
 *   sigma 0.5 workload is 1.4 deviations); its limit `h` trades the
 *   false-alarm rate against the delay. It is one-sided because only a
 *   slowdown is a latency anomaly.
 * - Sustained slowdowns within the deadline: the sum of the last
 *   `windowSize` normal scores over its standard deviation, above `windowZ`.
 *   For a deadline of `windowSize` samples this fixed window is close to the
 *   information limit: with exact N(0, 1) scores, a doubling of a lognormal
 *   sigma 0.5 workload (a 1.39 shift) is caught within 20 samples in 99.5-99.6%
 *   of cases at 0.55-0.6 false records per 10k (`bench/detection/README.md`).
 * - Single spikes: the robust z of the log duration (a winsorised at 6
 *   deviations, exponentially weighted mean and deviation, so one outlier
 *   cannot teach the baseline; at 4 a baseline that saw few cache misses
 *   early clipped every later miss and never learned their spread) above
 *   `spikeZ`. On a log scale a cache miss is a few deviations away, a 20x stall of a sigma 0.5 workload six.
 * - No range rule and no density histogram: in heavy-tailed i.i.d. latencies
 *   a new maximum or a rare bin is routine, and both raised false alarms.
 * - Scores are linear in the evidence, `0.5 * S / h` for the CUSUM,
 *   `0.5 * w / windowZ` for the window, `0.5 * z / spikeZ` for the spike
 *   (clamped to [0, 1]), so the profile threshold 0.5 is reached exactly at
 *   the tuned limits and a higher `sensitivity` asks for proportionally more
 *   evidence.
 *
 * ### `"metric"`: gauges and counters (CPU %, bytes, request counts)
 *
 * Measured on the Numenta Anomaly Benchmark. Raw values (no transform: a level
 * change of a gauge is additive), and the score is the largest of:
 *
 * - value likelihood: how surprising is the value under a Gaussian fitted to
 *   the history?
 * - density likelihood: how rare is the neighbourhood of the value in a
 *   decayed histogram? A Gaussian cannot describe a bimodal series (a daily
 *   square wave): a value between the modes is anomalous although close to
 *   the mean, one in the second mode normal although far from it.
 * - both surprises go through Numenta's anomaly likelihood (Ahmad et al.
 *   2017): the average surprise of the last 10 samples against the long-run
 *   distribution of that average, so series that are always noisy learn that
 *   they are and one threshold serves all.
 * - slow likelihood: the same, over the larger of the two surprises averaged
 *   over 100 samples. A mild but lasting change (a level a little off, a
 *   pattern a little broken) never makes a 10-sample average stand out, yet
 *   moves a 100-sample one far outside its own long-run spread; two time
 *   scales catch both sharp and slow anomalies.
 * - shift (weight 0 in the profile, so off): the mean of the last
 *   `windowSize` values against the long-run mean, in units of that
 *   difference's own long-run deviation. As a scored channel it cost NAB
 *   points (its false alarms outweigh its detections).
 * - range: a value beyond the range seen so far by more than `rangeTolerance`
 *   of that range scores 1 (Numenta's "spatial anomaly"); it carries much of
 *   the NAB score, since level shifts and broken patterns produce values
 *   never seen before.
 *
 * Probabilities become scores as Numenta does: -log10(p) / 10, clamped to
 * [0, 1]. One event, one alarm: a likelihood score at or above the threshold
 * within `windowSize` samples of the previous one continues the same event
 * and is capped below the threshold (a refractory period, as the episodes
 * of `AnomalyEpisodes` use the same gap). The averages behind the likelihoods
 * stay high for a while after any surprise and fire again and again; only
 * the onset is news. The range rule is exempt: a new extreme is always news.
 *
 * ## Thresholds
 *
 * Each profile's threshold is the one for `sensitivity` 2 (the APM default);
 * it scales linearly with `sensitivity` (higher flags less), and
 * `options.threshold` overrides it.
 *
 * `AnomalyEpisodes` groups flagged samples into episodes (records): an
 * episode ends once `windowSize` samples in a row are not flagged.
 */

export type Severity = "INFO" | "WARNING" | "ERROR" | "CRITICAL"
export type AnomalyKind = "spike" | "shift"
export type DetectorProfileName = "latency" | "metric"

export interface DetectorOptions {
  /** APM `anomalyDetectionSensitivity`: higher flags less; the threshold is the profile's times `sensitivity / 2` */
  readonly sensitivity: number
  /** APM `anomalyWindowSize`: the recent window judged for sustained shifts, and the episode gap */
  readonly windowSize: number
  /** the kind of series: operation durations or arbitrary metrics (see the module doc) */
  readonly profile?: DetectorProfileName
  /** samples seen before any score is given */
  readonly minSamples?: number
  /** score threshold for `isAnomaly`, overriding the one derived from the profile and `sensitivity` */
  readonly threshold?: number
}

/** Statistical parameters; a profile is a preset of them. */
export interface DetectorTuning {
  /** "cusum": the latency engine; "likelihood": the metric engine (see the module doc) */
  readonly engine: "cusum" | "likelihood"
  /** likelihood engine: "log" compares `asinh(10 x / scale)`; "none" raw values */
  readonly transform: "log" | "none"
  /** horizon, in samples, of the long-run moments (and, in the cusum engine, of the histogram) */
  readonly horizon: number
  /** likelihood engine: horizon of the histogram and of the likelihood distributions */
  readonly likelihoodHorizon: number
  /** likelihood engine: at most this many histogram bins */
  readonly maxBins: number
  /** likelihood engine: a new extreme beyond the seen range by this fraction of it scores 1; 0 disables */
  readonly rangeTolerance: number
  /** likelihood engine: weight of the shift channel's score (0 disables) */
  readonly shiftWeight: number
  /** likelihood engine: weight of a direct, per-sample score of the value's z (0 disables) */
  readonly spikeWeight: number
  /** likelihood engine: averaging window of a second, slow anomaly likelihood over both surprises (0 disables) */
  readonly slowLikelihoodWindow: number
  /** cusum engine: reference value k, in normal-score units (half the shift to detect fastest) */
  readonly cusumReference: number
  /** cusum engine: decision limit h of the CUSUM at the profile's threshold */
  readonly cusumLimit: number
  /** cusum engine: z of the mean normal score of the last `windowSize` samples that reaches the threshold */
  readonly windowZ: number
  /** cusum engine: robust z of the log duration that reaches the profile's threshold */
  readonly spikeZ: number
}

export interface DetectorProfile {
  readonly name: DetectorProfileName
  readonly tuning: DetectorTuning
  /** score threshold at `sensitivity` 2 */
  readonly threshold: number
}

const baseTuning: DetectorTuning = {
  engine: "likelihood",
  transform: "none",
  horizon: 500,
  likelihoodHorizon: 2000,
  maxBins: 16,
  rangeTolerance: 0.1,
  shiftWeight: 0,
  spikeWeight: 0,
  slowLikelihoodWindow: 100,
  cusumReference: 0.5,
  cusumLimit: 10,
  windowZ: 3.5,
  spikeZ: 5
}

export const detectorProfiles: { readonly [K in DetectorProfileName]: DetectorProfile } = {
  latency: {
    name: "latency",
    tuning: { ...baseTuning, engine: "cusum", transform: "log", horizon: 1000, windowZ: 3.6 },
    threshold: 0.5
  },
  metric: {
    name: "metric",
    tuning: baseTuning,
    threshold: 0.5
  }
}

export const defaultDetectorOptions: DetectorOptions = {
  sensitivity: 2,
  windowSize: 20,
  profile: "latency",
  minSamples: 30
}

/** The tuning of the default ("latency") profile. */
export interface Assessment {
  /** in [0, 1] */
  readonly score: number
  /** the deviation that produced the score: of the value (spike) or of the recent mean (shift), in baseline deviations */
  readonly zScore: number
  readonly isAnomaly: boolean
  readonly severity: Severity | undefined
  readonly kind: AnomalyKind | undefined
  /** the reference the sample was judged against, in the sample's units */
  readonly mean: number
  readonly stddev: number
}

const LN10 = Math.log(10)
// outliers move the moments by at most this many deviations, so one spike cannot teach the baseline
const WINSOR = 4
// the latency spike baseline clips wider: cache misses sit 3-4 deviations above a bimodal workload's mean, and
// a baseline that started low (few misses in its first samples) and clipped them at 4 never learned their spread
const SPIKE_WINSOR = 6
const LIKELIHOOD_WINDOW = 10
const LIKELIHOOD_FLOOR = 0.01

/** log P(Z >= z) for a standard normal, accurate to ~1e-7 relative and free of underflow (Numerical Recipes erfc) */
export const logUpperTail = (z: number): number => {
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.5 * x)
  const l = Math.log(0.5 * t) - x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
      t * (-0.82215223 + t * 0.17087277))))))))
  return z >= 0 ? l : Math.log1p(-Math.exp(l))
}

/** The standard normal quantile function (Acklam's rational approximation, relative error < 1.2e-9). */
export const normalQuantile = (p: number): number => {
  if (p <= 0) return Number.NEGATIVE_INFINITY
  if (p >= 1) return Number.POSITIVE_INFINITY
  const lower = 0.02425
  if (p < lower || p > 1 - lower) {
    const q = Math.sqrt(-2 * Math.log(p < lower ? p : 1 - p))
    const z = (((((-7.784894002430293e-3 * q - 3.223964580411365e-1) * q - 2.400758277161838) * q -
      2.549732539343734) * q + 4.374664141464968) * q + 2.938163982698783) /
      ((((7.784695709041462e-3 * q + 3.224671290700398e-1) * q + 2.445134137142996) * q + 3.754408661907416) * q + 1)
    return p < lower ? z : -z
  }
  const q = p - 0.5
  const r = q * q
  return (((((-3.969683028665376e1 * r + 2.209460984245205e2) * r - 2.759285104469687e2) * r +
    1.383577518672690e2) * r - 3.066479806614716e1) * r + 2.506628277459239) * q /
    (((((-5.447609879822406e1 * r + 1.615858368580409e2) * r - 1.556989798598866e2) * r + 6.680131188771972e1) * r -
      1.328068573417420e1) * r + 1)
}

/** -log10(p) / 10, clamped to [0, 1] */
const decades = (logP: number): number => {
  const s = -logP / LN10 / 10
  return s > 0 ? (s < 1 ? s : 1) : 0
}

const twoSided = (z: number): number => decades(logUpperTail(Math.abs(z)) + Math.LN2)

const clamp01 = (x: number): number => (x > 0 ? (x < 1 ? x : 1) : 0)

/** Exponentially weighted mean and variance; a plain running mean until `horizon` samples are seen. */
class Moments {
  readonly horizon: number
  mean = 0
  variance = 0
  n = 0
  constructor(horizon: number) {
    this.horizon = horizon
  }
  sd(): number {
    return Math.sqrt(this.variance)
  }
  update(x: number, clip: number): void {
    this.n++
    const a = Math.max(1 / this.n, 1 / this.horizon)
    let d = x - this.mean
    const s = Math.sqrt(this.variance)
    if (clip > 0 && this.n > 30 && s > 0) d = Math.max(-clip * s, Math.min(clip * s, d))
    this.mean += a * d
    // raw metrics may be near the largest double, whose square overflows; saturate instead of becoming NaN
    const v = (1 - a) * (this.variance + a * d * d)
    this.variance = v < Number.MAX_VALUE ? v : Number.MAX_VALUE
  }
}

/** Numenta's anomaly likelihood: the short average of a surprise against that average's long-run Gaussian. */
class Likelihood {
  readonly ring: Float64Array
  readonly dist: Moments
  sum = 0
  n = 0
  constructor(horizon: number, window: number = LIKELIHOOD_WINDOW) {
    this.ring = new Float64Array(Math.max(1, window))
    this.dist = new Moments(horizon)
  }
  next(surprise: number): number {
    const k = this.n++ % this.ring.length
    this.sum += surprise - this.ring[k]!
    this.ring[k] = surprise
    const avg = this.sum / Math.min(this.n, this.ring.length)
    const z = (avg - this.dist.mean) / Math.max(this.dist.sd(), LIKELIHOOD_FLOOR)
    this.dist.update(avg, 0)
    return decades(logUpperTail(Math.max(z, 0)))
  }
}

/**
 * A decayed histogram with at most `maxBins` occupied bins: when a new bin
 * would exceed the cap, the bin width doubles and neighbours merge, so the
 * resolution adapts to the spread without knowing the range in advance.
 * Decay is lazy: new samples weigh more instead of old ones being scaled.
 */
class Histogram {
  readonly maxBins: number
  readonly growth: number
  width = 0
  bins = new Map<number, number>()
  weight = 1
  constructor(maxBins: number, horizon: number) {
    this.maxBins = maxBins
    this.growth = 1 + 1 / horizon
  }
  private density(k: number): number {
    return (this.bins.get(k) ?? 0) + 0.5 * ((this.bins.get(k - 1) ?? 0) + (this.bins.get(k + 1) ?? 0))
  }
  /** -log10 of the mass of all bins no denser than the value's (a highest-density-region tail), / 10 */
  surprise(x: number): number {
    if (this.width === 0) return 0
    const own = this.density(Math.floor(x / this.width))
    let mass = 0
    let all = 0
    for (const b of this.bins.keys()) {
      const d = this.density(b)
      all += d
      if (d <= own) mass += d
    }
    return decades(Math.log((mass + this.weight) / (all + this.weight)))
  }
  add(x: number, width: number): void {
    if (this.width === 0) this.width = width
    const k = Math.floor(x / this.width)
    this.bins.set(k, (this.bins.get(k) ?? 0) + this.weight)
    this.weight *= this.growth
    if (this.weight > 1e100) {
      for (const [b, c] of this.bins) this.bins.set(b, c / 1e100)
      this.weight /= 1e100
    }
    while (this.bins.size > this.maxBins) {
      const merged = new Map<number, number>()
      for (const [b, c] of this.bins) {
        const m = Math.floor(b / 2)
        merged.set(m, (merged.get(m) ?? 0) + c)
      }
      this.bins = merged
      this.width *= 2
    }
  }
}

// the latency histogram: 4096 bins of 1% in log duration, centred on the first duration, cover a factor
// e^20 (5e8) either way, far beyond any realistic spread of one operation; farther values land in the end bins
const CDF_BINS = 4096
const CDF_WIDTH = 0.01

/**
 * A decayed empirical CDF over fixed bins, in a Fenwick tree so that adding a
 * sample and reading a cumulative mass both cost O(log bins). Decay is lazy
 * (new samples weigh more); the tree is linear, so rescaling every node keeps
 * it valid.
 */
class DecayedCdf {
  readonly tree = new Float64Array(CDF_BINS + 1)
  readonly growth: number
  origin = 0
  total = 0
  weight = 1
  constructor(horizon: number) {
    this.growth = 1 + 1 / horizon
  }
  private position(y: number): number {
    const p = (y - this.origin) / CDF_WIDTH + CDF_BINS / 2
    return p > 0 ? (p < CDF_BINS - 1e-9 ? p : CDF_BINS - 1e-9) : 0
  }
  private prefix(bins: number): number {
    let s = 0
    for (let i = bins; i > 0; i -= i & -i) s += this.tree[i]!
    return s
  }
  /** P(Y < y), interpolated linearly within a bin, with half a sample's weight of prior mass in each tail */
  cdf(y: number): number {
    const p = this.position(y)
    const b = Math.floor(p)
    const below = this.prefix(b)
    const own = this.prefix(b + 1) - below
    return (below + (p - b) * own + 0.5 * this.weight) / (this.total + this.weight)
  }
  add(y: number): void {
    if (this.total === 0) this.origin = y
    for (let i = Math.floor(this.position(y)) + 1; i <= CDF_BINS; i += i & -i) this.tree[i]! += this.weight
    this.total += this.weight
    this.weight *= this.growth
    if (this.weight > 1e100) {
      for (let i = 0; i < this.tree.length; i++) this.tree[i]! /= 1e100
      this.total /= 1e100
      this.weight /= 1e100
    }
  }
}

export class StreamingDetector {
  readonly options: DetectorOptions
  readonly profile: DetectorProfile
  readonly tuning: DetectorTuning
  readonly threshold: number
  private readonly minSamples: number
  private n = 0
  private scale = 1
  private readonly value: Moments
  private readonly raw: Moments
  private readonly recent: Float64Array
  private recentSum = 0
  // likelihood engine
  private readonly shift: Moments
  private readonly histogram: Histogram
  private readonly valueLikelihood: Likelihood
  private readonly densityLikelihood: Likelihood
  private readonly slowLikelihood: Likelihood
  private sinceRed = Number.POSITIVE_INFINITY
  private min = Number.POSITIVE_INFINITY
  private max = Number.NEGATIVE_INFINITY
  // cusum engine
  private readonly cdf: DecayedCdf
  private cusum = 0
  private readonly scores: Float64Array
  private scoreSum = 0

  constructor(options?: Partial<DetectorOptions>, tuning?: Partial<DetectorTuning>) {
    this.options = { ...defaultDetectorOptions, ...options }
    this.profile = detectorProfiles[this.options.profile ?? "latency"]
    this.tuning = { ...this.profile.tuning, ...tuning }
    this.threshold = this.options.threshold ??
      Math.min(1, Math.max(0.05, this.profile.threshold * this.options.sensitivity / 2))
    this.minSamples = this.options.minSamples ?? 30
    this.value = new Moments(this.tuning.horizon)
    this.raw = new Moments(this.tuning.horizon)
    this.shift = new Moments(this.tuning.horizon)
    this.recent = new Float64Array(Math.max(1, Math.round(this.options.windowSize)))
    this.histogram = new Histogram(this.tuning.maxBins, this.tuning.likelihoodHorizon)
    this.valueLikelihood = new Likelihood(this.tuning.likelihoodHorizon)
    this.densityLikelihood = new Likelihood(this.tuning.likelihoodHorizon)
    this.slowLikelihood = new Likelihood(this.tuning.likelihoodHorizon, this.tuning.slowLikelihoodWindow)
    this.cdf = new DecayedCdf(this.tuning.horizon)
    this.scores = new Float64Array(this.recent.length)
  }

  assess(x: number): Assessment {
    if (!Number.isFinite(x)) return this.quiet(0)
    return this.tuning.engine === "cusum" ? this.assessLatency(x) : this.assessMetric(x)
  }

  /** The recent window's mean, updated with `y`, minus the baseline mean. */
  private drift(y: number): number {
    const w = this.recent.length
    const k = this.n % w
    this.recentSum += y - this.recent[k]!
    this.recent[k] = y
    return this.recentSum / Math.min(this.n, w) - this.value.mean
  }

  private assessLatency(x: number): Assessment {
    const n = ++this.n
    // the scale makes the transform unit-free; a thousandth of the first duration puts every
    // realistic duration well inside the logarithmic part of asinh
    if (n === 1) this.scale = Math.abs(x) / 1000 > 0 ? Math.abs(x) / 1000 : x !== 0 ? Math.abs(x) : 1e-3
    const t = Math.asinh(x / this.scale)
    // asinh of the largest double is 710.5: an overflowing ratio is as far as a double can go
    const y = Number.isFinite(t) ? t : Math.sign(x) * 711
    const warm = n > this.minSamples

    const sd = this.value.sd() + 1e-9 + 1e-6 * Math.abs(this.value.mean)
    const zValue = n === 1 ? 0 : (y - this.value.mean) / sd
    const w = this.recent.length
    const leaving = this.recent[n % w]!
    const drift = this.drift(y)
    // the normal score of y under the history: standard normal whatever the workload's shape
    const u = this.cdf.cdf(y)
    const normalScore = n === 1 ? 0 : normalQuantile(u)
    this.cusum = Math.max(0, this.cusum + normalScore - this.tuning.cusumReference)
    const slot = n % this.scores.length
    this.scoreSum += normalScore - this.scores[slot]!
    this.scores[slot] = normalScore

    this.value.update(y, SPIKE_WINSOR)
    this.raw.update(x, WINSOR)
    // the reference is the history before the window being judged: a slowdown's own samples, learned
    // as they arrive, would lower the scores of the ones after them (2x-step detection 99.1% -> 99.3%)
    if (n > w) this.cdf.add(leaving)
    if (!warm) {
      // what the warm-up taught is not evidence of a shift
      this.cusum = 0
      this.scores.fill(0)
      this.scoreSum = 0
      return this.quiet(zValue)
    }

    // linear in the evidence, scaled by the profile's threshold (not this one), so that sensitivity matters
    const spiked = clamp01(this.profile.threshold * zValue / this.tuning.spikeZ)
    const windowed = this.scoreSum / Math.sqrt(this.scores.length)
    const shifted = clamp01(
      this.profile.threshold * Math.max(this.cusum / this.tuning.cusumLimit, windowed / this.tuning.windowZ)
    )
    const score = Math.max(spiked, shifted)
    const kind: AnomalyKind = spiked >= shifted ? "spike" : "shift"
    // a sustained shift stays flagged while it lasts; capping the CUSUM lets it fall back soon after
    if (this.cusum > 1.5 * this.tuning.cusumLimit) this.cusum = 1.5 * this.tuning.cusumLimit
    return this.judged(score, kind === "shift" ? drift / sd : zValue, kind)
  }

  private assessMetric(x: number): Assessment {
    const n = ++this.n
    // the scale makes the log-like transform unit-free: values in ms or s score alike
    if (n === 1) this.scale = x !== 0 ? Math.abs(x) : 1
    const y = this.tuning.transform === "log" ? Math.asinh(10 * x / this.scale) : x
    const warm = n > this.minSamples

    const floor = 1e-9 + 1e-6 * Math.abs(this.value.mean)
    const zValue = n === 1 ? 0 : (y - this.value.mean) / (this.value.sd() + floor)
    const rawFloor = 1e-9 + 1e-6 * Math.abs(this.raw.mean)
    const densitySurprise = this.histogram.surprise(x)
    const density = this.densityLikelihood.next(densitySurprise)
    if (n >= this.minSamples) this.histogram.add(x, this.raw.sd() * 0.25 + rawFloor)
    const valueSurprise = twoSided(zValue)
    const valued = this.valueLikelihood.next(valueSurprise)
    const slow = this.tuning.slowLikelihoodWindow > 0
      ? this.slowLikelihood.next(Math.max(densitySurprise, valueSurprise))
      : 0

    const drift = this.drift(y)
    const zShift = drift / (this.shift.sd() + floor)
    const shifted = Math.min(1, this.tuning.shiftWeight * twoSided(zShift))

    this.value.update(y, WINSOR)
    this.raw.update(x, WINSOR)
    // the first windows mix in the baseline's own warm-up error; leave them out of the shift's deviation
    if (n >= 3 * this.recent.length) this.shift.update(drift, WINSOR)

    const spiked = Math.min(1, this.tuning.spikeWeight * twoSided(zValue))
    let score = warm ? Math.max(density, valued, slow, shifted, spiked) : 0
    let kind: AnomalyKind = shifted > Math.max(density, valued, slow, spiked) ? "shift" : "spike"
    // one event, one alarm: a red sample within `windowSize` of the previous red one continues that event
    const red = score >= this.threshold
    this.sinceRed++
    if (red && this.sinceRed <= this.recent.length) score = Math.min(score, 0.6 * this.threshold)
    if (red) this.sinceRed = 0
    const span = this.max - this.min
    if (
      warm && this.tuning.rangeTolerance > 0 &&
      (y > this.max + this.tuning.rangeTolerance * span || y < this.min - this.tuning.rangeTolerance * span)
    ) {
      score = 1
      kind = "spike"
    }
    if (y < this.min) this.min = y
    if (y > this.max) this.max = y
    if (!warm) return this.quiet(zValue)

    return this.judged(score, kind === "shift" ? zShift : zValue, kind)
  }

  private judged(score: number, zScore: number, kind: AnomalyKind): Assessment {
    const isAnomaly = score >= this.threshold
    return {
      score,
      zScore,
      isAnomaly,
      severity: isAnomaly ? severityOf(score, this.threshold) : undefined,
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

/** Severity by how far above the threshold the score lies, in quarters of the remaining range. */
export const severityOf = (score: number, threshold: number): Severity => {
  const margin = threshold >= 1 ? 1 : (score - threshold) / (1 - threshold)
  return margin >= 0.75 ? "CRITICAL" : margin >= 0.5 ? "ERROR" : margin >= 0.25 ? "WARNING" : "INFO"
}

/**
 * Groups flagged samples into episodes, the unit of an `Anomaly` record: an
 * episode opens on a flagged sample and closes once `gap` samples in a row
 * are not flagged (the Apm layer uses `anomalyWindowSize`).
 */
export class AnomalyEpisodes {
  readonly gap: number
  private quiet: number
  constructor(gap: number = defaultDetectorOptions.windowSize) {
    this.gap = gap
    this.quiet = Number.POSITIVE_INFINITY
  }
  get active(): boolean {
    return this.quiet < this.gap
  }
  /** true when this sample opens a new episode */
  observe(isAnomaly: boolean): boolean {
    if (!isAnomaly) {
      this.quiet++
      return false
    }
    const opens = !this.active
    this.quiet = 0
    return opens
  }
}
