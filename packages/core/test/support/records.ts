import type { OperationType, PerformanceMetrics } from "../../src/index.ts"

/** A finished operation of `duration` seconds, ending at `endTime` (epoch ms). */
export const record = (
  operationName: string,
  duration: number,
  endTime = 0,
  operationType: OperationType.OperationType = "http_request"
): PerformanceMetrics.PerformanceMetrics => ({
  operationName,
  operationType,
  startTime: endTime - duration * 1000,
  endTime,
  duration,
  status: "ok",
  success: true,
  slow: false,
  attributes: {}
})
