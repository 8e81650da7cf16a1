/**
 * Bounded label values. A closed set (operations, states, severities) is an
 * allow-list checked by `oneOf`; an open one (model names, workflow
 * definitions, step names) is a `CappedLabel`: the first `cap` distinct
 * values pass through and every later one folds into `overflowLabel`, so a
 * caller that invents names cannot grow the number of series without bound.
 *
 * @internal
 */

/** @internal */
export const overflowLabel = "other"

/** @internal */
export const defaultLabelCap = 100

/** @internal */
export class CappedLabel {
  private readonly seen = new Set<string>()
  private readonly cap: number

  constructor(cap: number = defaultLabelCap) {
    this.cap = cap
  }

  bound(value: string): string {
    // A value already folded (an invalid one) must not take one of the cap's places.
    if (value === overflowLabel || this.seen.has(value)) return value
    if (this.seen.size >= this.cap) return overflowLabel
    this.seen.add(value)
    return value
  }
}
