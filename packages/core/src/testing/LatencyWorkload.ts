/**
 * Seeded synthetic operation durations that look like production, and the
 * incidents an APM must catch in them. The latency detector's contract
 * (`LatencyContract`, which the detector's tests and
 * `bench/detection/latency.ts` count with) is stated on these: at most one
 * alarm episode per 10,000 operations on every clean workload, each incident
 * caught within its deadline. They are also handy
 * for a dashboard or a demo that needs believable timings.
 *
 * Durations are in seconds, as `Apm.trace` records them. A workload is a
 * recipe; `start` gives one seeded, stateful stream of it, so that bursts,
 * drifts and warm-up effects are functions of the operation's index.
 *
 * @since 0.1.0
 */

/** A source of uniform [0, 1) numbers. */
export type Random = () => number

/**
 * mulberry32: a tiny seeded PRNG, so that every run of a test or a benchmark
 * sees the same samples.
 *
 * @category constructors
 * @since 0.1.0
 */
export const seeded = (seed: number): Random => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** A standard normal deviate (Box-Muller). */
const gaussian = (u: Random): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())

/** One seeded stream: the duration of operation `i` (0, 1, 2, ... in order). */
export type Durations = (i: number) => number

/**
 * @category models
 * @since 0.1.0
 */
export interface Workload {
  readonly name: string
  /** the median duration while nothing is wrong, in seconds */
  readonly median: number
  readonly start: (u: Random) => Durations
}

const stationary = (name: string, median: number, draw: (u: Random) => number): Workload => ({
  name,
  median,
  start: (u) => () => draw(u)
})

/**
 * Lognormal durations: the usual shape of a service's latency.
 *
 * @category workloads
 * @since 0.1.0
 */
export const lognormal = (sigma: number, median = 0.05): Workload =>
  stationary(`lognormal sigma ${sigma}`, median, (u) => median * Math.exp(sigma * gaussian(u)))

/**
 * Pareto durations (shape `alpha`): a power-law tail, as queueing and
 * retries produce.
 *
 * @category workloads
 * @since 0.1.0
 */
export const pareto = (alpha: number, median = 0.05): Workload => {
  const minimum = median / Math.pow(2, 1 / alpha)
  return stationary(`pareto alpha ${alpha}`, median, (u) => minimum / Math.pow(1 - u(), 1 / alpha))
}

/**
 * A narrow normal: a CPU-bound operation with little variation.
 *
 * @category workloads
 * @since 0.1.0
 */
export const narrow = (median = 0.1, cv = 0.1): Workload =>
  stationary(`normal cv ${cv}`, median, (u) => Math.max(0, median * (1 + cv * gaussian(u))))

/**
 * A mixture of lognormal modes, `[share, median, sigma]` each: cache hits
 * and misses, fast and slow code paths.
 *
 * @category workloads
 * @since 0.1.0
 */
export const mixture = (
  name: string,
  modes: ReadonlyArray<readonly [share: number, median: number, sigma: number]>
): Workload => {
  const total = modes.reduce((s, m) => s + m[0], 0)
  const draw = (u: Random) => {
    let pick = u() * total
    for (const [share, median, sigma] of modes) {
      pick -= share
      if (pick < 0) return median * Math.exp(sigma * gaussian(u))
    }
    const last = modes[modes.length - 1]!
    return last[1] * Math.exp(last[2] * gaussian(u))
  }
  const sorted = [...modes].sort((a, b) => a[1] - b[1])
  let cumulative = 0
  const median = sorted.find((m) => (cumulative += m[0]) >= total / 2)![1]
  return stationary(name, median, draw)
}

/**
 * The workload's durations rounded to whole milliseconds, as `Date.now()`
 * differences are: many ties, and zeros for fast operations.
 *
 * @category combinators
 * @since 0.1.0
 */
export const quantised = (base: Workload): Workload => ({
  name: `${base.name}, whole ms`,
  median: Math.round(base.median * 1000) / 1000,
  start: (u) => {
    const next = base.start(u)
    return (i) => Math.round(next(i) * 1000) / 1000
  }
})

/**
 * Isolated stalls: `share` of operations take 4-8x as long (a GC pause, a
 * scheduler hiccup). Routine in any Node service; not an incident.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withStalls = (base: Workload, share = 0.003): Workload => ({
  name: `${base.name}, ${share * 100}% stalls 4-8x`,
  median: base.median,
  start: (u) => {
    const next = base.start(u)
    return (i) => next(i) * (u() < share ? 4 + 4 * u() : 1)
  }
})

/**
 * A slow load-driven drift: every duration times `1 + amplitude * sin(2 pi i / period)`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withDrift = (base: Workload, amplitude = 0.3, period = 4000): Workload => ({
  name: `${base.name}, +-${amplitude * 100}% drift over ${period}`,
  median: base.median,
  start: (u) => {
    const next = base.start(u)
    const phase = 2 * Math.PI * u()
    return (i) => next(i) * (1 + amplitude * Math.sin(phase + 2 * Math.PI * i / period))
  }
})

/**
 * A warm-up: the first operations are slower (JIT, cold caches, lazy
 * connections), `1 + (factor - 1) * exp(-i / decay)` times.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withWarmUp = (base: Workload, factor = 10, decay = 50): Workload => ({
  name: `${base.name}, ${factor}x warm-up`,
  median: base.median,
  start: (u) => {
    const next = base.start(u)
    return (i) => next(i) * (1 + (factor - 1) * Math.exp(-i / decay))
  }
})

/**
 * Bursts of concurrency: now and then (`rate` per operation) a few
 * operations (3-10) queue behind each other and take 1.2-1.5x as long.
 *
 * @category combinators
 * @since 0.1.0
 */
export const withBursts = (base: Workload, rate = 0.003): Workload => ({
  name: `${base.name}, concurrency bursts`,
  median: base.median,
  start: (u) => {
    const next = base.start(u)
    let left = 0
    let factor = 1
    return (i) => {
      if (left === 0 && u() < rate) {
        left = 3 + Math.floor(8 * u())
        factor = 1.2 + 0.3 * u()
      }
      if (left === 0) return next(i)
      left--
      return next(i) * factor
    }
  }
})

/**
 * The clean workloads of the contract: nothing here is an incident.
 *
 * @category workloads
 * @since 0.1.0
 */
export const cleanWorkloads: ReadonlyArray<Workload> = [
  narrow(),
  lognormal(0.25),
  lognormal(0.5),
  lognormal(1),
  pareto(2.5),
  pareto(1.5),
  withStalls(lognormal(0.3)),
  withStalls(narrow()),
  withDrift(lognormal(0.3)),
  withDrift(lognormal(0.5), 0.3, 2000),
  quantised(lognormal(0.5, 0.003)),
  mixture("bimodal cache 90% hit / 10% miss", [[0.9, 0.002, 0.2], [0.1, 0.05, 0.3]]),
  mixture("multimodal 60/30/10", [[0.6, 0.005, 0.3], [0.3, 0.02, 0.3], [0.1, 0.12, 0.4]]),
  withWarmUp(lognormal(0.4)),
  withBursts(lognormal(0.4))
]

/**
 * An incident: from operation `at` on, the workload changes.
 *
 * @category models
 * @since 0.1.0
 */
export interface Incident {
  readonly name: string
  /** operations after the onset within which it must be caught */
  readonly deadline: number
  readonly base: Workload
  /** the durations from the onset on, `j` counting from 0 at the onset */
  readonly after: (u: Random, before: Durations) => (j: number, i: number) => number
}

/**
 * Every duration `factor` times as long.
 *
 * @category incidents
 * @since 0.1.0
 */
export const step = (base: Workload, factor: number, deadline: number): Incident => ({
  name: `${factor}x step on ${base.name}`,
  deadline,
  base,
  after: (_, before) => (_j, i) => factor * before(i)
})

/**
 * The durations grow linearly to `factor` times over `length` operations, then stay.
 *
 * @category incidents
 * @since 0.1.0
 */
export const ramp = (base: Workload, factor: number, length: number, deadline: number): Incident => ({
  name: `ramp to ${factor}x over ${length} on ${base.name}`,
  deadline,
  base,
  after: (_, before) => (j, i) => before(i) * (1 + (factor - 1) * Math.min(1, (j + 1) / length))
})

/**
 * The slow tail grows while the median stays: `share` of operations
 * become `factor` times slower (a lock that now contends, a retry storm).
 *
 * @category incidents
 * @since 0.1.0
 */
export const tailBlowUp = (base: Workload, share: number, factor: number, deadline: number): Incident => ({
  name: `${share * 100}% of operations ${factor}x on ${base.name}`,
  deadline,
  base,
  after: (u, before) => (_j, i) => before(i) * (u() < share ? factor : 1)
})

/**
 * A different mix of the same modes: the cache-miss share of a hit / miss workload goes up.
 *
 * @category incidents
 * @since 0.1.0
 */
export const mixShift = (from: Workload, to: Workload, deadline: number): Incident => ({
  name: `${from.name} -> ${to.name}`,
  deadline,
  base: from,
  after: (u) => {
    const next = to.start(u)
    return (_j, i) => next(i)
  }
})

const cache = (missShare: number) =>
  mixture(`cache ${Math.round(100 - missShare * 100)}% hit / ${Math.round(missShare * 100)}% miss`, [
    [1 - missShare, 0.002, 0.2],
    [missShare, 0.05, 0.3]
  ])

/**
 * The incidents of the contract, each with its deadline for an
 * `anomalyWindowSize` of 20.
 *
 * @category incidents
 * @since 0.1.0
 */
export const incidents: ReadonlyArray<Incident> = [
  step(lognormal(0.5), 2, 20),
  step(pareto(2.5), 2, 20),
  step(narrow(), 2, 20),
  step(cache(0.1), 2, 20),
  step(quantised(lognormal(0.5, 0.003)), 3, 20),
  step(lognormal(0.5), 1.5, 100),
  step(pareto(2.5), 1.5, 100),
  step(withStalls(lognormal(0.3)), 1.5, 100),
  ramp(lognormal(0.5), 3, 1000, 500),
  ramp(withDrift(lognormal(0.3)), 3, 1000, 500),
  tailBlowUp(lognormal(0.5), 0.1, 5, 200),
  tailBlowUp(pareto(2.5), 0.1, 5, 200),
  mixShift(cache(0.1), cache(0.4), 200)
]

/**
 * Held-out workloads: the same kinds with other parameters, kept out of
 * every tuning of the detector; `bench/detection/latency.ts` reports the
 * contract on them, on seeds it never tuned on either, beside the
 * development numbers.
 *
 * @category workloads
 * @since 0.1.0
 */
export const heldOutCleanWorkloads: ReadonlyArray<Workload> = [
  narrow(0.02, 0.05),
  lognormal(0.4, 0.2),
  lognormal(0.8, 0.01),
  pareto(2, 0.08),
  withStalls(lognormal(0.5), 0.005),
  withDrift(lognormal(0.4), 0.25, 3000),
  quantised(lognormal(0.4, 0.006)),
  mixture("bimodal cache 80% hit / 20% miss", [[0.8, 0.001, 0.25], [0.2, 0.03, 0.25]]),
  withWarmUp(lognormal(0.6), 20, 100),
  withBursts(lognormal(0.3), 0.002)
]

/**
 * Held-out incidents, as `heldOutCleanWorkloads`.
 *
 * @category incidents
 * @since 0.1.0
 */
export const heldOutIncidents: ReadonlyArray<Incident> = [
  step(lognormal(0.4, 0.2), 2, 20),
  step(pareto(2, 0.08), 2, 20),
  step(quantised(lognormal(0.4, 0.006)), 3, 20),
  step(lognormal(0.4, 0.2), 1.5, 100),
  ramp(lognormal(0.4, 0.2), 3, 800, 500),
  tailBlowUp(lognormal(0.4, 0.2), 0.15, 4, 200),
  mixShift(cache(0.15), cache(0.45), 200)
]

/**
 * The durations of one seeded run of an incident: `onset` normal operations, then the incident's.
 *
 * @category constructors
 * @since 0.1.0
 */
export const startIncident = (incident: Incident, u: Random, onset: number): Durations => {
  const before = incident.base.start(u)
  const after = incident.after(u, before)
  return (i) => (i < onset ? before(i) : after(i - onset, i))
}
