/**
 * The Numenta Anomaly Benchmark (NAB) scorer, as pure functions.
 *
 * Implements the scoring of NAB v1.1 (Lavin & Ahmad 2015, Ahmad et al. 2017;
 * `nab/sweeper.py` in numenta/NAB), so that scores are comparable with the
 * published scoreboard:
 *
 * - the first `min(floor(0.15 * rows), 750)` rows of a file are probationary:
 *   detections there are ignored, and a window lying wholly inside it is not
 *   scored;
 * - in a window only the earliest detection counts, worth
 *   `tp * scaledSigmoid(-(end - i + 1) / width) / scaledSigmoid(-1)`, so a
 *   detection on the first row of a window is worth exactly `tp`;
 * - a window with no detection costs `-fn`;
 * - every detected row outside all windows is a false positive worth
 *   `fp * scaledSigmoid(|i - prevEnd| / (prevWidth - 1))` (between 0 just after a
 *   window and -fp far from it), or `-fp` when no window precedes it;
 * - raw scores are summed over the corpus, then normalised so that the null
 *   detector (never fires) scores 0 and the perfect one (a detection on the
 *   first row of every window) scores 100.
 *
 * The threshold sweep is exact: it visits every distinct anomaly score of the
 * corpus once, in descending order, like NAB's `calcScoreByThreshold`.
 */

export interface CostProfile {
  readonly name: string
  readonly tp: number
  readonly fp: number
  readonly fn: number
}

export const profiles: ReadonlyArray<CostProfile> = [
  { name: "standard", tp: 1.0, fp: 0.11, fn: 1.0 },
  { name: "reward_low_FP_rate", tp: 1.0, fp: 0.22, fn: 1.0 },
  { name: "reward_low_FN_rate", tp: 1.0, fp: 0.11, fn: 2.0 }
]

export const standardProfile: CostProfile = profiles[0]!

/** One labelled series: timestamps as written in the data, windows as `[start, end]` timestamps. */
export interface LabelledSeries {
  readonly name: string
  readonly timestamps: ReadonlyArray<string>
  readonly values: ReadonlyArray<number>
  readonly windows: ReadonlyArray<readonly [string, string]>
}

/**
 * Per-row scoring facts of one file, independent of the detector.
 * `window[i]` is the index of the window row `i` lies in, `-1` outside every
 * window, `-2` in the probationary period.
 */
export interface PreparedSeries {
  readonly name: string
  readonly length: number
  readonly probation: number
  readonly windowCount: number
  readonly window: Int32Array
  /** unweighted scaled-sigmoid value of a detection on this row (tp share inside a window, fp share outside) */
  readonly unweighted: Float64Array
}

export const scaledSigmoid = (relativePosition: number): number =>
  relativePosition >= 3 ? -1 : 2 / (1 + Math.exp(5 * relativePosition)) - 1

export const probationaryLength = (rows: number): number => Math.min(Math.floor(0.15 * rows), 750)

/** NAB writes window limits with microseconds ("2014-02-26 13:45:00.000000"), data rows without. */
const normalizeTimestamp = (t: string): string => t.trim().replace(/\.0+$/, "")

export const prepare = (series: LabelledSeries): PreparedSeries => {
  const n = series.timestamps.length
  const index = new Map<string, number>()
  series.timestamps.forEach((t, i) => index.set(normalizeTimestamp(t), i))
  const limits = series.windows.map(([a, b]) => {
    const start = index.get(normalizeTimestamp(a))
    const end = index.get(normalizeTimestamp(b))
    if (start === undefined || end === undefined) {
      throw new Error(`${series.name}: window [${a}, ${b}] does not match a row`)
    }
    return [start, end] as const
  })
  const probation = probationaryLength(n)
  const window = new Int32Array(n).fill(-1)
  const unweighted = new Float64Array(n)
  const maxTp = scaledSigmoid(-1)
  let prevEnd = -1
  let prevWidth = 0
  let w = 0
  for (let i = 0; i < n; i++) {
    const current = limits[w]
    if (current !== undefined && i >= current[0] && i <= current[1]) {
      const width = current[1] - current[0] + 1
      window[i] = w
      unweighted[i] = scaledSigmoid(-(current[1] - i + 1) / width) / maxTp
      if (i === current[1]) {
        prevEnd = i
        prevWidth = width
        w++
      }
    } else {
      unweighted[i] = prevEnd < 0 ? -1 : scaledSigmoid(Math.abs(i - prevEnd) / (prevWidth - 1))
    }
    if (i < probation) window[i] = -2
  }
  // a window wholly in the probationary period is not scored at all
  const scored = new Set<number>()
  for (let i = probation; i < n; i++) if (window[i]! >= 0) scored.add(window[i]!)
  const renumber = new Map<number, number>()
  for (const id of [...scored].sort((a, b) => a - b)) renumber.set(id, renumber.size)
  for (let i = probation; i < n; i++) if (window[i]! >= 0) window[i] = renumber.get(window[i]!)!
  return { name: series.name, length: n, probation, windowCount: scored.size, window, unweighted }
}

export interface FileScore {
  readonly raw: number
  readonly tp: number
  readonly fp: number
  readonly fn: number
}

/** Raw NAB score of one file at one threshold (a row is a detection when its score is >= threshold). */
export const scoreFile = (
  prepared: PreparedSeries,
  scores: ArrayLike<number>,
  threshold: number,
  profile: CostProfile
): FileScore => {
  const best = new Float64Array(prepared.windowCount).fill(Number.NaN)
  let fpSum = 0
  let fp = 0
  for (let i = prepared.probation; i < prepared.length; i++) {
    if (!(scores[i]! >= threshold)) continue
    const w = prepared.window[i]!
    if (w >= 0) {
      if (Number.isNaN(best[w]!)) best[w] = prepared.unweighted[i]! * profile.tp
    } else {
      fp++
      fpSum += prepared.unweighted[i]! * profile.fp
    }
  }
  let raw = fpSum
  let tp = 0
  for (const b of best) {
    if (Number.isNaN(b)) raw -= profile.fn
    else {
      raw += b
      tp++
    }
  }
  return { raw, tp, fp, fn: prepared.windowCount - tp }
}

export interface CorpusBounds {
  readonly nullScore: number
  readonly perfectScore: number
}

export const corpusBounds = (prepared: ReadonlyArray<PreparedSeries>, profile: CostProfile): CorpusBounds => {
  const windows = prepared.reduce((n, p) => n + p.windowCount, 0)
  return { nullScore: -profile.fn * windows, perfectScore: profile.tp * windows }
}

export const normalize = (raw: number, bounds: CorpusBounds): number =>
  100 * (raw - bounds.nullScore) / (bounds.perfectScore - bounds.nullScore)

/** Normalised corpus score at one threshold. */
export const scoreCorpus = (
  prepared: ReadonlyArray<PreparedSeries>,
  scores: ReadonlyArray<ArrayLike<number>>,
  threshold: number,
  profile: CostProfile
): { readonly score: number; readonly raw: number; readonly tp: number; readonly fp: number; readonly fn: number } => {
  let raw = 0
  let tp = 0
  let fp = 0
  let fn = 0
  prepared.forEach((p, k) => {
    const s = scoreFile(p, scores[k]!, threshold, profile)
    raw += s.raw
    tp += s.tp
    fp += s.fp
    fn += s.fn
  })
  return { score: normalize(raw, corpusBounds(prepared, profile)), raw, tp, fp, fn }
}

/**
 * The best threshold over the whole corpus: every distinct anomaly score is a
 * candidate; rows are visited from the highest score down, each window keeping
 * the best (earliest) detection seen so far, as NAB's sweeper does.
 */
export const sweep = (
  prepared: ReadonlyArray<PreparedSeries>,
  scores: ReadonlyArray<ArrayLike<number>>,
  profile: CostProfile
): { readonly threshold: number; readonly score: number } => {
  const rows: Array<{ s: number; file: number; i: number }> = []
  prepared.forEach((p, file) => {
    const sc = scores[file]!
    for (let i = p.probation; i < p.length; i++) rows.push({ s: sc[i]!, file, i })
  })
  rows.sort((a, b) => b.s - a.s)
  const offsets: Array<number> = []
  let total = 0
  for (const p of prepared) {
    offsets.push(total)
    total += p.windowCount
  }
  const best = new Float64Array(total).fill(-profile.fn)
  const bounds = corpusBounds(prepared, profile)
  let raw = bounds.nullScore
  let bestScore = normalize(raw, bounds)
  let bestThreshold = Number.POSITIVE_INFINITY
  for (let k = 0; k < rows.length; k++) {
    const { file, i, s } = rows[k]!
    const p = prepared[file]!
    const w = p.window[i]!
    if (w >= 0) {
      const value = p.unweighted[i]! * profile.tp
      const slot = offsets[file]! + w
      if (value > best[slot]!) {
        raw += value - best[slot]!
        best[slot] = value
      }
    } else {
      raw += p.unweighted[i]! * profile.fp
    }
    const next = rows[k + 1]
    if (next === undefined || next.s !== s) {
      const score = normalize(raw, bounds)
      if (score > bestScore) {
        bestScore = score
        bestThreshold = s
      }
    }
  }
  return { threshold: bestThreshold, score: bestScore }
}
