/**
 * What a state gauge reads: the entries (workflows) in one of the counted
 * states, by key, with the number in each state kept as entries move, on
 * each transition, eviction and end. A state change costs the same however
 * many entries are tracked; a recount would walk all of them (up to the
 * capacity, 10,000 by default) on every change.
 *
 * @internal
 */

/** @internal */
export class TrackedStates<S extends string> {
  // Insertion order is tracking order: the first key is the one tracked longest.
  private readonly states = new Map<string | symbol, S>()
  private readonly counts: Map<S, number>
  private readonly capacity: number

  /** `counted` are the states tracked; past `capacity` entries, the one tracked longest is forgotten. */
  constructor(counted: ReadonlyArray<S>, capacity: number) {
    this.counts = new Map(counted.map((state) => [state, 0]))
    this.capacity = capacity
  }

  /** Moves `key` to `state`; a state that is not counted (a final one) ends its tracking. */
  moveTo(key: string | symbol, state: string): void {
    const from = this.states.get(key)
    if (from !== undefined) {
      this.states.delete(key)
      this.add(from, -1)
    }
    if (!this.counts.has(state as S)) return
    if (this.states.size >= this.capacity) this.forgetOldest()
    this.states.set(key, state as S)
    this.add(state as S, 1)
  }

  /** How many entries are in `state` now. */
  count(state: S): number {
    return this.counts.get(state) ?? 0
  }

  private forgetOldest(): void {
    const oldest = this.states.entries().next()
    if (oldest.done === true) return
    const [key, state] = oldest.value
    this.states.delete(key)
    this.add(state, -1)
  }

  private add(state: S, delta: number): void {
    this.counts.set(state, this.count(state) + delta)
  }
}
