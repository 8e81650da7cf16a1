import { MetricSeries } from "../../src/testing/index.ts"

/** A counter's count, or a gauge's value, for one operation. */
export const operationValue = (id: string, operationName: string) =>
  MetricSeries.value(id, { operation_name: operationName })
