/**
 * What the reference detectors of the detection bench share: how their grids
 * pair model constants with thresholds and print them, and the bound that
 * keeps their arithmetic finite.
 */

/**
 * Every model tuning at every threshold, model-major, so that ties in the
 * cross-validation go to the earlier model constants and then the lower threshold.
 */
export const thresholdGrid = <M extends object>(
  models: ReadonlyArray<M>,
  thresholds: ReadonlyArray<number>
): ReadonlyArray<M & { readonly threshold: number }> =>
  models.flatMap((model) => thresholds.map((threshold) => ({ ...model, threshold })))

/** Four significant digits, or for thresholds within 1e-3 of 1 (tail probabilities) the distance to 1. */
export const formatThreshold = (t: number): string =>
  t < 1 && 1 - t < 1e-3 ? `1-${(1 - t).toPrecision(2)}` : String(Number(t.toPrecision(4)))

// the references square values, sum thousands of squares and invert Gram matrices; past 1e100 that overflows to
// Infinity and then NaN. No real metric comes near it, so bounding inputs there changes no real score
const limit = 1e100

export const bounded = (x: number): number => (x > limit ? limit : x < -limit ? -limit : x)

export const clamp01 = (x: number): number => (x > 0 ? (x < 1 ? x : 1) : 0)
