/**
 * What the generated Prometheus rules are parameterised by: the thresholds
 * of `ApmConfig` (so that the fleet alerts where one instance's insights
 * would), the SLO objectives, and every window and `for:` duration. The
 * shipped files use `defaults`; a test that cannot wait for a ten-minute
 * `for:` generates the same rules with `timeScale` shrinking every duration.
 *
 * @since 0.1.0
 */
import { ApmConfig } from "@mcp-apm/core"
import { promDuration } from "./internal/format.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface RuleOptions {
  /** The slow, error-rate, CPU, memory and anomaly-sensitivity thresholds. */
  readonly thresholds: ApmConfig.ApmOptions
  /** Share of operations that must succeed, per operation, e.g. 0.999. */
  readonly availabilityObjective: number
  /** Share of operations that must finish under their type's slow threshold, e.g. 0.99. */
  readonly latencyObjective: number
  /** Operations per second under which an operation is too quiet for ratio and z-score alerts. */
  readonly minimumRate: number
  /** Every window and `for:` duration below is multiplied by this; 1 in the shipped files. */
  readonly timeScale: number
  /** Durations, in seconds, before `timeScale`. */
  readonly seconds: {
    /** Window of the rates that ratios, quantiles and means are computed over. */
    readonly rate: number
    /** How far back a baseline reaches. */
    readonly baseline: number
    /** Window in which an anomaly record of the in-process detector raises an alert. */
    readonly anomaly: number
    readonly for: {
      readonly errorRate: number
      readonly slowOperation: number
      readonly cpu: number
      readonly memory: number
      readonly anomaly: number
      readonly baselineDeviation: number
    }
  }
}

const minute = 60
const hour = 60 * minute

/**
 * The shipped rules: `ApmConfig`'s defaults, 99.9 % availability and 99 %
 * of operations under their slow threshold, each per operation over 30 days.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaults: RuleOptions = {
  thresholds: ApmConfig.defaults,
  availabilityObjective: 0.999,
  latencyObjective: 0.99,
  minimumRate: 0.1,
  timeScale: 1,
  seconds: {
    rate: 5 * minute,
    baseline: 24 * hour,
    anomaly: 10 * minute,
    for: {
      errorRate: 10 * minute,
      slowOperation: 15 * minute,
      cpu: 10 * minute,
      memory: 10 * minute,
      anomaly: 1 * minute,
      baselineDeviation: 15 * minute
    }
  }
}

/**
 * The defaults with `overrides`, checked: a bad value throws an error that
 * names the option, the value and what was expected.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  overrides: Partial<Omit<RuleOptions, "thresholds">> & { readonly thresholds?: Partial<ApmConfig.ApmOptions> } = {}
): RuleOptions => {
  const options: RuleOptions = {
    ...defaults,
    ...overrides,
    thresholds: { ...defaults.thresholds, ...overrides.thresholds }
  }
  const check = (name: string, value: number, ok: boolean, expected: string) => {
    if (!ok) throw new Error(`RuleOptions.${name} is ${value}; expected ${expected}`)
  }
  check("availabilityObjective", options.availabilityObjective, inOpenUnit(options.availabilityObjective), "a number between 0 and 1, exclusive")
  check("latencyObjective", options.latencyObjective, inOpenUnit(options.latencyObjective), "a number between 0 and 1, exclusive")
  check("minimumRate", options.minimumRate, options.minimumRate >= 0, "a number of operations per second, 0 or more")
  check("timeScale", options.timeScale, options.timeScale > 0 && Number.isFinite(options.timeScale), "a positive number")
  return options
}

const inOpenUnit = (x: number) => x > 0 && x < 1

/**
 * `seconds` at the options' time scale, as a Prometheus duration: every
 * window and `for:` of the generated rules goes through here.
 *
 * @category accessors
 * @since 0.1.0
 */
export const duration = (options: RuleOptions, seconds: number): string => promDuration(seconds * options.timeScale)
