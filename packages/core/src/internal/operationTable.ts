/**
 * The bounded table of operations. Past `maxOperations` distinct names, a
 * new name (and any name longer than `maxOperationNameLength`) folds into one overflow entry per type, so that memory, metric
 * series and label values stay bounded however many names callers invent.
 * An operation is known by its name; its type is the one it was first seen with.
 *
 * @internal
 */
import { operationMetrics } from "../ApmMetrics.ts"
import type { OperationType } from "../OperationType.ts"
import { maxOperationNameLength } from "../PerformanceMetrics.ts"
import { OperationStats } from "./operationStats.ts"

/** @internal */
const overflowOperationName = "apm_overflow"

/** @internal */
export class OperationTable {
  private readonly byName = new Map<string, OperationStats>()
  private readonly overflowByType = new Map<string, OperationStats>()
  private readonly maxOperations: number

  constructor(maxOperations: number) {
    this.maxOperations = maxOperations
  }

  get(name: string, type: OperationType): OperationStats {
    const found = this.byName.get(name)
    if (found !== undefined) return found
    if (this.byName.size >= this.maxOperations || name.length > maxOperationNameLength) return this.overflow(type)
    return this.insert(this.byName, name, name, type)
  }

  private overflow(type: OperationType): OperationStats {
    return this.overflowByType.get(type) ?? this.insert(this.overflowByType, type, overflowOperationName, type)
  }

  private insert(map: Map<string, OperationStats>, key: string, name: string, type: OperationType): OperationStats {
    const stats = new OperationStats(name, type, operationMetrics(name, type))
    map.set(key, stats)
    return stats
  }

  /** The named operation; the overflow entries answer to `overflowOperationName` together. */
  find(name: string): ReadonlyArray<OperationStats> {
    if (name === overflowOperationName) return [...this.overflowByType.values()]
    const found = this.byName.get(name)
    return found === undefined ? [] : [found]
  }

  all(): Array<OperationStats> {
    return [...this.byName.values(), ...this.overflowByType.values()]
  }
}
