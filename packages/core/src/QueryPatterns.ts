/**
 * What the queries of each traced operation add up to, in bounded memory:
 * how many times one run of a parent operation ran the same normalised
 * query (an N+1 pattern once the count reaches a threshold), which parent
 * operations each query runs under, and a short timestamped history of each
 * query's durations, from which a slowdown after a given moment is read.
 *
 * Every table has a cap. A parent run that is still open holds one entry
 * with at most `maxQueriesPerParent` distinct queries; past `maxOpenParents`
 * open runs, new runs are not counted (and `dropped` says so); findings and
 * histories keep the most recently seen `maxFindings` and `maxQueries`.
 *
 * Synchronous and allocation-light: it runs in the span callbacks of every
 * query.
 *
 * @since 0.1.0
 */

/**
 * One N+1 pattern: `parentName` ran `queryText` `count` times in one run
 * (the largest run seen), in `runs` runs so far.
 *
 * @category models
 * @since 0.1.0
 */
export interface NPlusOne {
  readonly parentName: string
  readonly queryName: string
  readonly queryText: string
  readonly count: number
  readonly runs: number
  readonly lastSeen: number
}

/**
 * One timed run of a query: when it ended (epoch milliseconds) and how long
 * it took (seconds).
 *
 * @category models
 * @since 0.1.0
 */
export interface QuerySample {
  readonly endMillis: number
  readonly duration: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** A query run this many times in one parent run is an N+1 pattern. */
  readonly nPlusOneThreshold: number
  readonly maxOpenParents: number
  readonly maxQueriesPerParent: number
  readonly maxFindings: number
  readonly maxQueries: number
  readonly maxParentsPerQuery: number
  readonly samplesPerQuery: number
}

/**
 * Sentry's N+1 detector starts at five repetitions of one query; so does this one.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultOptions: Options = {
  nPlusOneThreshold: 5,
  maxOpenParents: 1024,
  maxQueriesPerParent: 64,
  maxFindings: 100,
  maxQueries: 200,
  maxParentsPerQuery: 8,
  samplesPerQuery: 256
}

interface Counted {
  readonly name: string
  count: number
}

interface QueryHistory {
  readonly parents: Set<string>
  readonly ends: Float64Array
  readonly durations: Float64Array
  next: number
  size: number
}

/** Re-inserting moves a key to the end of a Map's order: the first key is the least recently used. */
const touch = <K, V>(map: Map<K, V>, key: K, value: V, max: number) => {
  map.delete(key)
  map.set(key, value)
  if (map.size > max) map.delete(map.keys().next().value!)
}

/**
 * The tracker. Parent runs are keyed by their span id.
 *
 * @category models
 * @since 0.1.0
 */
export class QueryPatterns {
  readonly options: Options
  /** Parent runs not counted because `maxOpenParents` were open. */
  dropped = 0
  private readonly open = new Map<string, Map<string, Counted>>()
  private readonly findings = new Map<string, NPlusOne>()
  private readonly histories = new Map<string, QueryHistory>()
  /** The history sampled last, already the most recently used: a query run in a loop is not moved again. */
  private lastSampled: QueryHistory | undefined

  constructor(options: Partial<Options> = {}) {
    this.options = { ...defaultOptions, ...options }
  }

  /**
   * A query `queryName` (normalised text `queryText`) ran, under the open
   * parent run `parentId` if it has one.
   */
  query(parentId: string | undefined, queryName: string, queryText: string, endMillis: number, duration: number): void {
    let counts = parentId === undefined ? undefined : this.open.get(parentId)
    if (counts === undefined && parentId !== undefined) {
      if (this.open.size >= this.options.maxOpenParents) this.dropped++
      else this.open.set(parentId, counts = new Map())
    }
    if (counts !== undefined) {
      const counted = counts.get(queryText)
      if (counted !== undefined) counted.count++
      else if (counts.size < this.options.maxQueriesPerParent) counts.set(queryText, { name: queryName, count: 1 })
    }
    this.sample(queryName, endMillis, duration)
  }

  /** Whether `parentId` is an open parent run, cheaply, for the end of every span. */
  isOpen(parentId: string): boolean {
    return this.open.has(parentId)
  }

  /** The parent run `parentId`, named `parentName`, ended at `endMillis`: its repeated queries become findings. */
  parentEnded(parentId: string, parentName: string, endMillis: number): void {
    const counts = this.open.get(parentId)
    if (counts === undefined) return
    this.open.delete(parentId)
    for (const [text, { count, name }] of counts) {
      const history = this.histories.get(name)
      if (history !== undefined && history.parents.size < this.options.maxParentsPerQuery) {
        history.parents.add(parentName)
      }
      if (count < this.options.nPlusOneThreshold) continue
      const key = `${parentName}\u0000${text}`
      const before = this.findings.get(key)
      touch(this.findings, key, {
        parentName,
        queryName: name,
        queryText: text,
        count: Math.max(count, before?.count ?? 0),
        runs: (before?.runs ?? 0) + 1,
        lastSeen: endMillis
      }, this.options.maxFindings)
    }
  }

  /** The N+1 patterns seen, most recent last. */
  nPlusOne(): ReadonlyArray<NPlusOne> {
    return [...this.findings.values()]
  }

  /** The parent operations `queryName` ran under. */
  parentsOf(queryName: string): ReadonlyArray<string> {
    return [...(this.histories.get(queryName)?.parents ?? [])]
  }

  /** The recent runs of `queryName`, oldest first. */
  samples(queryName: string): ReadonlyArray<QuerySample> {
    const h = this.histories.get(queryName)
    if (h === undefined) return []
    const out: Array<QuerySample> = []
    const capacity = h.ends.length
    for (let k = 0; k < h.size; k++) {
      const i = (h.next - h.size + k + capacity) % capacity
      out.push({ endMillis: h.ends[i]!, duration: h.durations[i]! })
    }
    return out
  }

  private sample(queryName: string, endMillis: number, duration: number) {
    let h = this.histories.get(queryName)
    if (h === undefined) {
      const size = this.options.samplesPerQuery
      h = { parents: new Set(), ends: new Float64Array(size), durations: new Float64Array(size), next: 0, size: 0 }
    }
    if (h !== this.lastSampled) touch(this.histories, queryName, h, this.options.maxQueries)
    this.lastSampled = h
    h.ends[h.next] = endMillis
    h.durations[h.next] = duration
    h.next = (h.next + 1) % h.ends.length
    if (h.size < h.ends.length) h.size++
  }
}
