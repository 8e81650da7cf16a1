/**
 * What a detector engine is: one sample in, one assessment out, learning as
 * it goes. `StreamingDetector` holds exactly one engine, chosen by profile.
 */
import type { AnomalyKind } from "../../AnomalyKind.ts"
import type { Severity } from "../../Severity.ts"

export interface Assessment {
  /** in [0, 1] */
  readonly score: number
  /** the deviation that produced the score: of the value (spike) or of the recent window (shift) */
  readonly zScore: number
  readonly isAnomaly: boolean
  readonly severity: Severity | undefined
  readonly kind: AnomalyKind | undefined
  /** the reference the sample was judged against, in the sample's units */
  readonly mean: number
  readonly stddev: number
}

export interface Engine {
  readonly assess: (x: number) => Assessment
}
