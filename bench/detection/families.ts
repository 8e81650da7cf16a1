/**
 * The detector families the detection bench compares: the shipped "metric"
 * profile of `StreamingDetector`, with a grid over the tuning constants that
 * the cross-validation may choose among, and the reference detectors of
 * `reference/`.
 */
import type { MetricTuning } from "@mcp-apm/core/StreamingDetector"
import { detectorProfiles, StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import { bocpd } from "./reference/bocpd.ts"
import { knnCad } from "./reference/knnCad.ts"
import { windowedGaussian } from "./reference/windowedGaussian.ts"
import type { DetectorFamily } from "./scorer.ts"

/** A family as the bench runs it: tunings with the same `runKey` produce the same scores, so they run once. */
export interface BenchFamily<P> extends DetectorFamily<P> {
  readonly runKey: (params: P) => string
}

type NumericTuningField = {
  [K in keyof MetricTuning]: MetricTuning[K] extends number ? K : never
}[keyof MetricTuning]

/** One tunable constant of the metric profile: the values the grid tries, and the one shipped. */
export interface Axis {
  readonly name: NumericTuningField
  readonly values: ReadonlyArray<number>
  readonly shipped: number
}

const profile = detectorProfiles.metric

/** The metric profile's constants the cross-validation may tune: the grid is their product. */
export const metricAxes: ReadonlyArray<Axis> = [
  { name: "rangeTolerance", values: [0, 0.05, 0.1, 0.2], shipped: profile.tuning.rangeTolerance },
  { name: "slowLikelihoodWindow", values: [0, 100], shipped: profile.tuning.slowLikelihoodWindow },
  { name: "likelihoodHorizon", values: [1000, 2000, 4000], shipped: profile.tuning.likelihoodHorizon },
  { name: "maxBins", values: [12, 16, 24], shipped: profile.tuning.maxBins }
]

export interface MetricParams {
  readonly tuning: Partial<Record<NumericTuningField, number>>
  readonly threshold: number
}

const profileThreshold = new StreamingDetector({ profile: "metric" }).threshold

const product = (axes: ReadonlyArray<Axis>): ReadonlyArray<MetricParams["tuning"]> =>
  axes.reduce<ReadonlyArray<MetricParams["tuning"]>>(
    (tunings, axis) => tunings.flatMap((t) => axis.values.map((v) => ({ ...t, [axis.name]: v }))),
    [{}]
  )

/** The shipped tuning with one axis moved to `value`. */
export const metricVariant = (axis: Axis, value: number): MetricParams => ({
  tuning: { ...metricFamily.shipped.tuning, [axis.name]: value },
  threshold: profileThreshold
})

export const metricFamily: BenchFamily<MetricParams> = {
  name: "metric profile",
  grid: product(metricAxes).map((tuning) => ({ tuning, threshold: profileThreshold })),
  shipped: { tuning: Object.fromEntries(metricAxes.map((a) => [a.name, a.shipped])), threshold: profileThreshold },
  make: (p) => {
    const detector = new StreamingDetector({ profile: "metric", threshold: p.threshold }, p.tuning)
    return { next: (x) => detector.assess(x).score }
  },
  threshold: (p) => p.threshold,
  describe: (p) => metricAxes.map((a) => `${a.name} ${p.tuning[a.name]}`).join(", "),
  // the threshold shapes the scores themselves: the refractory period caps likelihood scores below it
  runKey: (p) => JSON.stringify(p)
}

/** A reference family whose threshold only binarises its scores: tunings differing in it share one run. */
const thresholdFree = <P extends { readonly threshold: number }>(family: DetectorFamily<P>): BenchFamily<P> => ({
  ...family,
  runKey: ({ threshold: _threshold, ...model }) => JSON.stringify(model)
})

/** Every family the bench scores, the shipped one first. */
export const families: ReadonlyArray<BenchFamily<any>> = [
  metricFamily,
  thresholdFree(windowedGaussian),
  thresholdFree(knnCad),
  thresholdFree(bocpd)
]
