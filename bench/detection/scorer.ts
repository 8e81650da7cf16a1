/**
 * The one interface every detector of the detection bench is run through:
 * the shipped `StreamingDetector` profiles and the reference detectors alike,
 * so that the NAB harness, the cross-validation and the latency workloads
 * treat them the same way.
 */

/** A streaming scorer: one sample in, one anomaly score in [0, 1] out; a score at or above the threshold flags. */
export interface Scorer {
  readonly next: (x: number) => number
}

/** A detector with tunable constants: the cross-validation chooses one of `grid` on training data. */
export interface DetectorFamily<P> {
  readonly name: string
  /** the tunings the cross-validation may choose among; each one carries its threshold */
  readonly grid: ReadonlyArray<P>
  /** the tuning shipped (or, for a reference detector, its published defaults) */
  readonly shipped: P
  readonly make: (params: P) => Scorer
  readonly threshold: (params: P) => number
  readonly describe: (params: P) => string
}

/** Scores a whole series, sample by sample, with a fresh scorer. */
export const scoreSeries = (scorer: Scorer, values: ReadonlyArray<number>): Float64Array => {
  const scores = new Float64Array(values.length)
  for (let i = 0; i < values.length; i++) scores[i] = scorer.next(values[i]!)
  return scores
}
