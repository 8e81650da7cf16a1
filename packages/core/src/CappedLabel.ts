/**
 * A bounded set of label values: the first `cap` distinct values pass
 * through and every later one folds into one overflow value, so that a
 * caller that invents values cannot grow the number of metric series
 * without bound.
 *
 * @since 0.1.0
 */

/**
 * @category models
 * @since 0.1.0
 */
export class CappedLabel {
  private readonly seen = new Set<string>()
  private readonly cap: number
  /** What every value past the cap becomes. */
  readonly overflow: string

  constructor(cap: number, overflow: string) {
    this.cap = cap
    this.overflow = overflow
  }

  /** `value`, or the overflow value once `cap` other values were seen. */
  bound(value: string): string {
    // A value already folded (an invalid one) must not take one of the cap's places.
    if (value === this.overflow || this.seen.has(value)) return value
    if (this.seen.size >= this.cap) return this.overflow
    this.seen.add(value)
    return value
  }
}
