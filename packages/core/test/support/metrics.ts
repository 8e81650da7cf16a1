import { ApmTesting } from "../../src/index.ts"

export const seriesState = ApmTesting.seriesState

/** A counter's count, or a gauge's value, for one operation. */
export const operationValue = (id: string, operationName: string) =>
  ApmTesting.seriesValue(id, { operation_name: operationName })
