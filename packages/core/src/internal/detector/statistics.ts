/**
 * The streaming statistics both detector engines are built from: the normal
 * distribution's tail and quantile, decayed moments, Numenta's anomaly
 * likelihood, and two decayed histograms (an adaptive one for densities, a
 * fixed-bin empirical CDF for normal scores and quantiles). Each is O(1) or
 * O(log bins) per sample with bounded memory.
 */

const ln10 = Math.log(10)

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
            1.383577518672690e2) * r - 3.066479806614716e1) * r + 2.506628277459239) *
    q /
    (((((-5.447609879822406e1 * r + 1.615858368580409e2) * r - 1.556989798598866e2) * r + 6.680131188771972e1) * r -
          1.328068573417420e1) * r + 1)
}

/** -log10(p) / 10, clamped to [0, 1]: Numenta's way from a probability to a score */
const decades = (logP: number): number => {
  const s = -logP / ln10 / 10
  return s > 0 ? (s < 1 ? s : 1) : 0
}

/** `decades` of the two-sided normal tail probability of `z` */
export const twoSided = (z: number): number => decades(logUpperTail(Math.abs(z)) + Math.LN2)

export const clamp01 = (x: number): number => (x > 0 ? (x < 1 ? x : 1) : 0)

/** Exponentially weighted mean and variance; a plain running mean until `horizon` samples are seen. */
export class Moments {
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
  /** learns `x`, moving the moments by at most `clip` deviations (0: no clip) so that one outlier cannot teach them */
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

const likelihoodFloor = 0.01

/** Numenta's anomaly likelihood: the short average of a surprise against that average's long-run Gaussian. */
export class Likelihood {
  readonly ring: Float64Array
  readonly dist: Moments
  sum = 0
  n = 0
  constructor(horizon: number, window: number) {
    this.ring = new Float64Array(Math.max(1, window))
    this.dist = new Moments(horizon)
  }
  next(surprise: number): number {
    const k = this.n++ % this.ring.length
    this.sum += surprise - this.ring[k]!
    this.ring[k] = surprise
    const avg = this.sum / Math.min(this.n, this.ring.length)
    const z = (avg - this.dist.mean) / Math.max(this.dist.sd(), likelihoodFloor)
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
export class DensityHistogram {
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
  /** `decades` of the mass of all bins no denser than the value's (a highest-density-region tail) */
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

/**
 * A decayed empirical CDF over `bins` fixed bins of `width`, centred on the
 * first value, in a Fenwick tree so that adding a sample, reading a
 * cumulative mass and finding a quantile each cost O(log bins). Values
 * beyond the range land in the end bins. Decay is lazy (new samples weigh
 * more); the tree is linear, so rescaling every node keeps it valid.
 */
export class DecayedCdf {
  readonly tree: Float64Array
  readonly bins: number
  readonly width: number
  readonly growth: number
  origin = 0
  total = 0
  weight = 1
  constructor(horizon: number, bins: number, width: number) {
    this.bins = bins
    this.width = width
    this.tree = new Float64Array(bins + 1)
    this.growth = 1 + 1 / horizon
  }
  private bin(y: number): number {
    const p = Math.floor((y - this.origin) / this.width + this.bins / 2)
    return p > 0 ? (p < this.bins ? p : this.bins - 1) : 0
  }
  private prefix(bins: number): number {
    let s = 0
    for (let i = bins; i > 0; i -= i & -i) s += this.tree[i]!
    return s
  }
  /**
   * The mid-rank P(Y < y) + P(Y = y) / 2 at the resolution of a bin, with
   * half a sample's weight of prior mass in each tail: exact for the ties of
   * quantised timings, and never 0 or 1.
   */
  cdf(y: number): number {
    const b = this.bin(y)
    const below = this.prefix(b)
    const own = this.prefix(b + 1) - below
    return (below + 0.5 * own + 0.5 * this.weight) / (this.total + this.weight)
  }
  /** the upper edge of the bin where the cumulative mass first reaches `p` of the total */
  quantile(p: number): number {
    let target = p * this.total
    let position = 0
    for (let step = 1 << Math.floor(Math.log2(this.bins)); step > 0; step >>= 1) {
      const next = position + step
      if (next <= this.bins && this.tree[next]! < target) {
        position = next
        target -= this.tree[next]!
      }
    }
    return this.origin + (position + 1 - this.bins / 2) * this.width
  }
  add(y: number): void {
    if (this.total === 0) this.origin = y
    for (let i = this.bin(y) + 1; i <= this.bins; i += i & -i) this.tree[i]! += this.weight
    this.total += this.weight
    this.weight *= this.growth
    if (this.weight > 1e100) {
      for (let i = 0; i < this.tree.length; i++) this.tree[i]! /= 1e100
      this.total /= 1e100
      this.weight /= 1e100
    }
  }
}

/** A fixed-size ring of the last samples with their running sum. */
export class Window {
  readonly ring: Float64Array
  sum = 0
  n = 0
  constructor(size: number) {
    this.ring = new Float64Array(Math.max(1, Math.round(size)))
  }
  get size(): number {
    return this.ring.length
  }
  /** the sample `size` places back, the one the next `push` replaces (0 while the ring fills) */
  get oldest(): number {
    return this.ring[this.n % this.ring.length]!
  }
  get full(): boolean {
    return this.n >= this.ring.length
  }
  mean(): number {
    return this.n === 0 ? 0 : this.sum / Math.min(this.n, this.ring.length)
  }
  push(x: number): void {
    const k = this.n++ % this.ring.length
    this.sum += x - this.ring[k]!
    this.ring[k] = x
  }
  clear(): void {
    this.ring.fill(0)
    this.sum = 0
    this.n = 0
  }
}
