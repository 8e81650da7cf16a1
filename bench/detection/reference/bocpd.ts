/**
 * Reference detector: Bayesian online changepoint detection (Adams & MacKay
 * 2007, "Bayesian Online Changepoint Detection", arXiv:0710.3742), as NAB
 * runs it (numenta/NAB, `nab/detectors/bayes_changept/bayes_changept_detector.py`).
 *
 * - The series is a sequence of runs of i.i.d. Gaussian values with unknown
 *   mean and variance: a Normal-Gamma prior (mu 0, kappa 1, alpha 0.1,
 *   beta 0.001, NAB's values) gives a Student-t predictive for every run
 *   length `r`, from the posterior of the last `r` values.
 * - Constant hazard `1 / lambda`: the run-length distribution grows by one
 *   (weight `1 - 1/lambda`) or restarts at 0 (weight `1/lambda`), each
 *   weighted by the predictive density of the new value.
 * - The distribution is truncated at `maxRunLength`: as in NAB's online
 *   version, the mass that grows past it is dropped on the next step, so work
 *   and memory are O(maxRunLength) per sample.
 * - Score, NAB's choice ("option 3", the best of those NAB tried): when the
 *   most probable run length drops from `a` to `b < a`, the score is
 *   `1 - b / a`, else 0. A change after a long stable run scores near 1.
 *   (The probability of run length 0 is useless here: with a constant hazard
 *   it is exactly `1 / lambda` after normalisation.)
 *
 * The recursion runs in log space (NAB's runs in linear space and would
 * underflow to NaN on values far from the prior mean, since raw metrics are
 * not standardised).
 *
 * Published tuning: lambda 250, maxRunLength 500, NAB's optimised threshold
 * 0.9846 (`config/thresholds.json`).
 */
import type { DetectorFamily, Scorer } from "../scorer.ts"
import { bounded, clamp01, formatThreshold, thresholdGrid } from "./common.ts"

export interface BocpdParams {
  readonly lambda: number
  readonly maxRunLength: number
  readonly threshold: number
}

const prior = { mu: 0, kappa: 1, alpha: 0.1, beta: 0.001 }

const lanczos = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7
]

/** log Gamma(x) for x > 0 (Lanczos, g = 7; reflection below 0.5), to ~1e-15 relative. */
const logGamma = (x: number): number => {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let a = lanczos[0]!
  for (let i = 1; i < lanczos.length; i++) a += lanczos[i]! / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a)
}

const bocpdScorer = (params: BocpdParams): Scorer => {
  const max = params.maxRunLength
  const logGrow = Math.log1p(-1 / params.lambda)
  const logRestart = -Math.log(params.lambda)
  // alpha and kappa of run length r are the prior's plus r / 2 and r: the terms of the Student-t density
  // that depend on them alone are fixed per run length
  const alpha = new Float64Array(max + 1)
  const kappa = new Float64Array(max + 1)
  const constant = new Float64Array(max + 1)
  for (let r = 0; r <= max; r++) {
    const a = prior.alpha + r / 2
    const k = prior.kappa + r
    alpha[r] = a
    kappa[r] = k
    constant[r] = logGamma(a + 0.5) - logGamma(a) - 0.5 * Math.log(2 * a * Math.PI) - 0.5 * Math.log((k + 1) / (a * k))
  }
  const mu = new Float64Array(max + 1).fill(prior.mu)
  const beta = new Float64Array(max + 1).fill(prior.beta)
  // log P(run length = r), r = 0 .. max + 1
  const logP = new Float64Array(max + 2).fill(Number.NEGATIVE_INFINITY)
  logP[0] = 0
  const joint = new Float64Array(max + 1)
  let t = 0
  let previousMode = 1
  return {
    next: (input) => {
      const x = bounded(input)
      const top = Math.min(t, max)
      let peak = Number.NEGATIVE_INFINITY
      for (let r = 0; r <= top; r++) {
        const d = x - mu[r]!
        const b = beta[r]!
        const k = kappa[r]!
        const density = constant[r]! - 0.5 * Math.log(b) - (alpha[r]! + 0.5) * Math.log1p(k * d * d / (2 * b * (k + 1)))
        const j = logP[r]! + density
        joint[r] = j
        if (j > peak) peak = j
      }
      let sum = 0
      for (let r = 0; r <= top; r++) sum += Math.exp(joint[r]! - peak)
      const evidence = peak + Math.log(sum)
      // normalised, the restart mass is exactly the hazard: growth and restart share each run's joint mass
      logP[0] = logRestart
      let mode = 0
      for (let r = 0; r <= top; r++) {
        logP[r + 1] = joint[r]! + logGrow - evidence
        if (logP[r + 1]! > logP[mode]!) mode = r + 1
      }
      // the posterior of the last r + 1 values, from that of the last r; run length 0 is the prior
      for (let r = Math.min(top + 1, max); r >= 1; r--) {
        const k = kappa[r - 1]!
        const d = x - mu[r - 1]!
        mu[r] = (k * mu[r - 1]! + x) / (k + 1)
        beta[r] = beta[r - 1]! + k * d * d / (2 * (k + 1))
      }
      t++
      const score = mode < previousMode ? 1 - mode / previousMode : 0
      previousMode = mode
      return clamp01(score)
    }
  }
}

const published: BocpdParams = { lambda: 250, maxRunLength: 500, threshold: 0.9846 }

export const bocpd: DetectorFamily<BocpdParams> = {
  name: "BOCPD",
  grid: thresholdGrid(
    [100, 250, 1000].flatMap((lambda) => [200, 500].map((maxRunLength) => ({ lambda, maxRunLength }))),
    [0.9, 0.97, 0.9846, 0.995]
  ),
  shipped: published,
  make: bocpdScorer,
  threshold: (p) => p.threshold,
  describe: (p) => `lambda ${p.lambda} maxRunLength ${p.maxRunLength} threshold ${formatThreshold(p.threshold)}`
}
