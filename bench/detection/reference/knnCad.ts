/**
 * Reference detector: KNN-CAD, conformalized k-nearest-neighbour anomaly
 * detection (Burnaev & Ishimtsev 2016, "Conformalized density- and
 * distance-based anomaly detection in time-series data", arXiv:1608.04585),
 * as its authors implemented it for NAB (numenta/NAB,
 * `nab/detectors/knncad/knncad_detector.py`).
 *
 * - Each sample is embedded with its `dim - 1` predecessors as a lag vector.
 * - Its non-conformity is the sum of the squared Mahalanobis distances to its
 *   `k` nearest neighbours in a training set of `training - dim` lag vectors;
 *   the metric is the inverse of the training set's Gram matrix `T'T`,
 *   recomputed every `training / 2` samples.
 * - Its score is the conformal p-value complement: the fraction of a
 *   calibration set of as many earlier non-conformities lying below it.
 * - The first `training` samples only fill the training set (score 0). From
 *   `2 training` on, every sample moves the oldest calibration vector into the
 *   training set, which drops its oldest vector.
 * - After a score of 0.9965 or more the next `training / 5` samples score 0.5.
 *
 * NAB's `training` is the file's probationary period, `min(0.15 rows, 750)`;
 * a streaming scorer does not know the file length, so it is a constant here,
 * published value 600 (NAB's 604 for the 4032-row files that make up 24 of
 * the 28 development series). The distances are computed as Euclidean ones
 * after whitening by the Cholesky factor of `T'T`, exactly equal and
 * O(training x dim) per sample instead of O(training x dim^2). A numerically
 * singular `T'T` keeps the previous metric (identity at first), as NAB keeps it
 * when NumPy's inversion fails.
 *
 * Published tuning: dim 19, k 27, and the threshold of NAB's
 * `config/thresholds.json`, 1.0: only a sample less conforming than the whole
 * calibration set flags. (0.9965, where the detector starts its refractory
 * period, is in the grid.) With `training` 186, NAB's value for the 1243-row
 * `iio_us-east-1_i-a2eb1cd9_NetworkIn`, the scores equal those of NAB's
 * published results file for that series.
 */
import type { DetectorFamily, Scorer } from "../scorer.ts"
import { bounded, clamp01, formatThreshold, thresholdGrid } from "./common.ts"

export interface KnnCadParams {
  readonly dim: number
  readonly k: number
  readonly training: number
  readonly threshold: number
}

const alarmScore = 0.9965

/** Lower Cholesky factor of a symmetric `n x n` matrix (row-major); undefined if it is not positive definite. */
const cholesky = (a: Float64Array, n: number): Float64Array | undefined => {
  const l = new Float64Array(n * n)
  let scale = 0
  for (let i = 0; i < n; i++) scale = Math.max(scale, a[i * n + i]!)
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2
    if (!(d > 1e-12 * scale)) return undefined
    const root = Math.sqrt(d)
    l[j * n + j] = root
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!
      l[i * n + j] = s / root
    }
  }
  return l
}

const knnCadScorer = (params: KnnCadParams): Scorer => {
  const { dim, training } = params
  const size = training - dim
  const k = Math.min(params.k, size - 1)
  // lag vectors of the training set, raw and whitened, as rings of `size` rows
  const raw = new Float64Array(size * dim)
  const white = new Float64Array(size * dim)
  let oldest = 0
  let filled = 0
  // identity until the first Gram matrix is factored
  let factor: Float64Array = new Float64Array(dim * dim)
  for (let i = 0; i < dim; i++) factor[i * dim + i] = 1
  const calibration: Array<Float64Array> = []
  // the calibration non-conformities, a ring of `size`, oldest at `scoreHead`
  const scores = new Float64Array(size)
  let scoreHead = 0
  let calibrated = false
  const lag = new Float64Array(dim)
  const whiteLag = new Float64Array(dim)
  const nearest = new Float64Array(k + 1)
  let count = 0
  let refractory = -1

  const whiten = (v: ArrayLike<number>, out: Float64Array, at: number) => {
    for (let i = 0; i < dim; i++) {
      let s = v[i]!
      for (let j = 0; j < i; j++) s -= factor[i * dim + j]! * out[at + j]!
      out[at + i] = s / factor[i * dim + i]!
    }
  }
  const refactor = () => {
    const gram = new Float64Array(dim * dim)
    for (let r = 0; r < size; r++) {
      for (let i = 0; i < dim; i++) {
        const vi = raw[r * dim + i]!
        for (let j = 0; j <= i; j++) gram[i * dim + j]! += vi * raw[r * dim + j]!
      }
    }
    for (let i = 0; i < dim; i++) for (let j = 0; j < i; j++) gram[j * dim + i] = gram[i * dim + j]!
    const l = cholesky(gram, dim)
    if (l === undefined) return
    factor = l
    for (let r = 0; r < size; r++) whiten(raw.subarray(r * dim, (r + 1) * dim), white, r * dim)
  }
  // the sum of the `m` smallest squared distances from whitened `w` to the training set
  const nonConformity = (w: Float64Array, m: number): number => {
    nearest.fill(Number.POSITIVE_INFINITY)
    for (let r = 0; r < size; r++) {
      let d = 0
      for (let i = 0; i < dim; i++) d += (w[i]! - white[r * dim + i]!) ** 2
      if (d >= nearest[m - 1]!) continue
      let i = m - 1
      while (i > 0 && nearest[i - 1]! > d) {
        nearest[i] = nearest[i - 1]!
        i--
      }
      nearest[i] = d
    }
    let sum = 0
    for (let i = 0; i < m; i++) sum += nearest[i]!
    return sum
  }
  const push = (v: ArrayLike<number>) => {
    let slot = oldest
    if (filled < size) slot = filled++
    else oldest = (oldest + 1) % size
    raw.set(v, slot * dim)
    whiten(v, white, slot * dim)
  }

  return {
    next: (input) => {
      lag.copyWithin(0, 1)
      lag[dim - 1] = bounded(input)
      count++
      if (count < dim) return 0
      if (count < training) {
        push(lag)
        return 0
      }
      const phase = count % training
      if (phase === 0 || phase === Math.floor(training / 2)) refactor()
      if (!calibrated) {
        // each training vector against the set that contains it: its own zero distance is one of the k + 1
        for (let r = 0; r < size; r++) scores[r] = nonConformity(white.subarray(r * dim, (r + 1) * dim), k + 1)
        calibrated = true
      }
      whiten(lag, whiteLag, 0)
      const a = nonConformity(whiteLag, k)
      let below = 0
      for (let r = 0; r < size; r++) if (scores[r]! < a) below++
      const result = below / size
      if (count >= 2 * training) push(calibration.shift()!)
      scores[scoreHead] = a
      scoreHead = (scoreHead + 1) % size
      calibration.push(lag.slice())
      if (refractory > 0) {
        refractory--
        return 0.5
      }
      if (result >= alarmScore) refractory = Math.floor(training / 5)
      return clamp01(result)
    }
  }
}

const published: KnnCadParams = { dim: 19, k: 27, training: 600, threshold: 1 }

export const knnCad: DetectorFamily<KnnCadParams> = {
  name: "KNN-CAD",
  grid: thresholdGrid(
    [
      { dim: 19, k: 27, training: 600 },
      { dim: 19, k: 27, training: 300 },
      { dim: 19, k: 9, training: 600 },
      { dim: 7, k: 27, training: 600 },
      { dim: 7, k: 9, training: 300 }
    ],
    [0.99, alarmScore, 1]
  ),
  shipped: published,
  make: knnCadScorer,
  threshold: (p) => p.threshold,
  describe: (p) => `dim ${p.dim} k ${p.k} training ${p.training} threshold ${formatThreshold(p.threshold)}`
}
