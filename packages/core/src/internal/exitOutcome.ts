/**
 * Classifies how a traced effect ended and extracts a bounded message with
 * its secrets redacted: the message is recorded, shown on the dashboard and
 * logged.
 *
 * @internal
 */
import { Cause, Exit, Result } from "effect"
import * as ErrorType from "../ErrorType.ts"
import type { OperationStatus } from "../PerformanceMetrics.ts"
import { maxErrorMessageLength } from "../PerformanceMetrics.ts"
import type { Rules } from "../Redaction.ts"
import { defaultRules, isSecretName, placeholder, redactText } from "../Redaction.ts"

/** @internal */
export interface ExitOutcome {
  readonly status: OperationStatus
  readonly message: string | undefined
  readonly errorType: string | undefined
}

/**
 * The outcome of every success.
 *
 * @internal
 */
export const succeeded: ExitOutcome = { status: "ok", message: undefined, errorType: undefined }
const interrupted: ExitOutcome = { status: "interrupted", message: "interrupted", errorType: undefined }

/** @internal */
export const describeExit = (exit: Exit.Exit<unknown, unknown>, rules: Rules = defaultRules): ExitOutcome => {
  if (Exit.isSuccess(exit)) return succeeded
  const error = Cause.findError(exit.cause)
  if (Result.isSuccess(error)) {
    return {
      status: "error",
      message: safeMessage(rawMessage(error.success), rules),
      errorType: ErrorType.of(error.success)
    }
  }
  const defect = Cause.findDefect(exit.cause)
  if (Result.isSuccess(defect)) {
    return {
      status: "defect",
      message: safeMessage(rawMessage(defect.success), rules),
      errorType: ErrorType.of(defect.success)
    }
  }
  return interrupted
}

/**
 * A message fit to record: secrets redacted, then cut to the bound.
 *
 * @internal
 */
export const safeMessage = (text: string, rules: Rules = defaultRules): string => truncate(redactText(text, rules))

const redactSecretFields = (key: string, value: unknown): unknown =>
  key !== "" && isSecretName(key) && value !== undefined ? placeholder : value

const rawMessage = (value: unknown): string => {
  if (typeof value === "string") return value
  if (typeof value === "object" && value !== null) {
    const { message, _tag } = value as { message?: unknown; _tag?: unknown }
    if (typeof message === "string" && message !== "") return message
    if (typeof _tag === "string") return _tag
    try {
      return JSON.stringify(value, redactSecretFields) ?? String(value)
    } catch {
      return String(value)
    }
  }
  return String(value)
}

/** @internal */
const truncate = (text: string, max = maxErrorMessageLength): string =>
  text.length <= max ? text : text.slice(0, max - 1) + "…"
