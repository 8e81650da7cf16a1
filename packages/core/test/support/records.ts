import type { OperationSummary, OperationType, PerformanceMetrics } from "../../src/index.ts"

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

/** The summary of a healthy `http_request` operation of 100 runs, with `overrides`. */
export const summary = (overrides: Partial<OperationSummary.OperationSummary>): OperationSummary.OperationSummary => ({
  operationName: "op",
  operationType: "http_request",
  totalOperations: 100,
  successCount: 100,
  errorCount: 0,
  successRate: 1,
  slowCount: 0,
  meanDuration: 0.1,
  minDuration: 0.05,
  maxDuration: 0.2,
  p50Duration: 0.1,
  p95Duration: 0.15,
  p99Duration: 0.19,
  lastSeen: 0,
  ...overrides
})
