/**
 * A pure, streaming anomaly detector: one number in, one assessment out, with
 * O(1) work and bounded memory per sample. It has no clock and no I/O, so the
 * Apm layer runs one per operation on the hot path, and tests, the detection
 * benchmark (`bench/detection`) and `mcp-apm detect` replay series through it
 * deterministically.
 *
 * Two profiles, chosen by what the series is, never per series; each is one
 * engine with its own state (`bench/detection/README.md` has the design,
 * the measurements and the variants tried):
 *
 * - `"latency"`, operation durations (what `Apm.trace` uses): sustained
 *   slowdowns of the level (normal scores against a lagged reference, with
 *   a minimum slowdown so that load swings are not incidents), growing
 *   tails, and isolated extreme spikes (INFO at most).
 * - `"metric"`, gauges and counters (`mcp-apm detect`'s default): Numenta's
 *   anomaly likelihood over value and density surprises, and new extremes.
 *
 * Each profile's threshold is the one for `sensitivity` 2 (the APM
 * default); it scales linearly with `sensitivity` (higher flags less), and
 * `options.threshold` overrides it. `AnomalyEpisodes` groups flagged samples
 * into episodes, the unit of an anomaly record.
 *
 * @since 0.1.0
 */
import type { Assessment, Engine } from "./internal/detector/engine.ts"
import { LatencyEngine, latencyTuning } from "./internal/detector/latencyEngine.ts"
import type { LatencyTuning } from "./internal/detector/latencyEngine.ts"
import { MetricEngine, metricTuning } from "./internal/detector/metricEngine.ts"
import type { MetricTuning } from "./internal/detector/metricEngine.ts"

export type { Assessment } from "./internal/detector/engine.ts"
export type { LatencyTuning } from "./internal/detector/latencyEngine.ts"
export type { MetricTuning } from "./internal/detector/metricEngine.ts"
export { logUpperTail, normalQuantile } from "./internal/detector/statistics.ts"

/**
 * @category models
 * @since 0.1.0
 */
export type DetectorProfileName = "latency" | "metric"

/**
 * @category models
 * @since 0.1.0
 */
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

/**
 * The statistical constants of a profile's engine.
 *
 * @category models
 * @since 0.1.0
 */
export type DetectorTuning = LatencyTuning | MetricTuning

/**
 * @category models
 * @since 0.1.0
 */
export interface DetectorProfile<T extends DetectorTuning = DetectorTuning> {
  readonly name: DetectorProfileName
  readonly tuning: T
  /** score threshold at `sensitivity` 2 */
  readonly threshold: number
}

/**
 * @category constants
 * @since 0.1.0
 */
export const detectorProfiles: {
  readonly latency: DetectorProfile<LatencyTuning>
  readonly metric: DetectorProfile<MetricTuning>
} = {
  latency: { name: "latency", tuning: latencyTuning, threshold: 0.5 },
  metric: { name: "metric", tuning: metricTuning, threshold: 0.5 }
}

/**
 * @category constants
 * @since 0.1.0
 */
export const defaultDetectorOptions: DetectorOptions = {
  sensitivity: 2,
  windowSize: 20,
  profile: "latency",
  minSamples: 30
}

/**
 * @category models
 * @since 0.1.0
 */
export class StreamingDetector {
  readonly options: DetectorOptions
  readonly profile: DetectorProfile
  readonly threshold: number
  private readonly engine: Engine

  /** `tuning` overrides constants of the profile's engine (benchmarks and experiments) */
  constructor(options?: Partial<DetectorOptions>, tuning?: Partial<LatencyTuning> | Partial<MetricTuning>) {
    this.options = { ...defaultDetectorOptions, ...options }
    const name = this.options.profile ?? "latency"
    const profile = detectorProfiles[name]
    this.profile = profile
    this.threshold = this.options.threshold ??
      Math.min(1, Math.max(0.05, profile.threshold * this.options.sensitivity / 2))
    const minSamples = this.options.minSamples ?? 30
    this.engine = name === "latency"
      ? new LatencyEngine(
        { ...detectorProfiles.latency.tuning, ...tuning as Partial<LatencyTuning> },
        this.options.windowSize,
        minSamples,
        profile.threshold,
        this.threshold
      )
      : new MetricEngine(
        { ...detectorProfiles.metric.tuning, ...tuning as Partial<MetricTuning> },
        this.options.windowSize,
        minSamples,
        this.threshold
      )
  }

  /** Judges `x` against what came before, then learns it. A non-finite `x` is ignored. */
  assess(x: number): Assessment {
    return Number.isFinite(x) ? this.engine.assess(x) : ignored
  }
}

const ignored: Assessment = {
  score: 0,
  zScore: 0,
  isAnomaly: false,
  severity: undefined,
  kind: undefined,
  mean: 0,
  stddev: 0
}

/**
 * Groups flagged samples into episodes, the unit of an `Anomaly` record: an
 * episode opens on a flagged sample and closes once `gap` samples in a row
 * are not flagged (the Apm layer uses `anomalyWindowSize`).
 *
 * @category models
 * @since 0.1.0
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
