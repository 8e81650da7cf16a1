/**
 * Bounded label values. A closed set (operations, states, severities) is an
 * allow-list checked by `oneOf`; an open one (model names, workflow
 * definitions, step names) is a `CappedLabel`: the first `cap` distinct
 * values pass through and every later one folds into `overflowLabel`, so a
 * caller that invents names cannot grow the number of series without bound.
 *
 * @internal
 */
import { CappedLabel } from "@mcp-apm/core"

/** @internal */
export const overflowLabel = "other"

/** @internal */
export const defaultLabelCap = 100

/** An open label whose values past the first `cap` fold into `overflowLabel`. @internal */
export const cappedLabel = (cap: number = defaultLabelCap): CappedLabel.CappedLabel =>
  new CappedLabel.CappedLabel(cap, overflowLabel)
