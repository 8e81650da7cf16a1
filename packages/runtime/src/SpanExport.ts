/**
 * The span processor between the application and the collector: a bounded
 * queue, one export in flight at a time, every span that does not arrive
 * counted by reason, and a flush that ends by a deadline whatever the
 * collector does.
 *
 * The SDK's `BatchSpanProcessor` is not enough for an APM that must never
 * hurt what it watches: it drops spans on a full queue without telling
 * anyone, sends all batches of a flush at once, and rejects its flush with
 * the exporter's error, which turns into a failed program at shutdown.
 * And it exports what it is given: here every span is redacted (its name,
 * status message, attributes, exception messages and stack traces) by
 * `Redaction`'s rules before it leaves the process.
 *
 * @since 0.1.0
 */
import { TraceFlags } from "@opentelemetry/api"
import { Redaction } from "@mcp-apm/core"
import type { ReadableSpan, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { estimatedSize, safeSpan } from "./internal/spanSize.ts"

/**
 * Why a span was not exported: the queue was full when it ended, the
 * collector did not take it (an error, a timeout, no answer by shutdown),
 * or it was larger than `maxSpanBytes` after its values were truncated.
 *
 * @category models
 * @since 0.1.0
 */
export type DropReason = "queue_full" | "export_failed" | "too_large"

/**
 * Every `DropReason`, the values of the `reason` label.
 *
 * @category constants
 * @since 0.1.0
 */
export const dropReasons: ReadonlyArray<DropReason> = ["queue_full", "export_failed", "too_large"]

/**
 * The processor's bounds, its exporter and who hears of drops.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * An exporter whose every export, retries included, ends within
   * `timeoutMillis` (the OTLP exporter's `timeoutMillis` does). A factory,
   * because an export started during a flush gets only what is left of it.
   */
  readonly exporter: (timeoutMillis: number) => SpanExporter
  /** The longest one export may take. */
  readonly exportTimeoutMillis: number
  /** The longest a flush or the shutdown may take. */
  readonly flushTimeoutMillis: number
  readonly maxQueueSize: number
  readonly maxExportBatchSize: number
  readonly scheduledDelayMillis: number
  /** Status messages are cut to this many characters (the SDK's span limits cut attributes). */
  readonly maxAttributeLength: number
  /** What is redacted before a span is exported; `Redaction.defaultRules` by default. */
  readonly redaction?: Redaction.Rules | undefined
  /** A span estimated larger than this is dropped as `too_large`; 1 MiB by default. */
  readonly maxSpanBytes?: number | undefined
  /** A request is cut before it grows past this; 4 MiB by default, the OTel Collector's gRPC message limit. */
  readonly maxBatchBytes?: number | undefined
  /** Told once per export cycle how many spans were dropped since the last call, for each reason. */
  readonly onDropped?: ((reason: DropReason, count: number, detail: string) => void) | undefined
}

/**
 * A `SpanProcessor` that also says how many spans it exported and dropped.
 *
 * @category models
 * @since 0.1.0
 */
export interface SpanExportProcessor extends SpanProcessor {
  /** Spans the collector accepted. */
  readonly exported: () => number
  readonly dropped: (reason: DropReason) => number
}

// A misbehaving exporter that never calls back must not hold the queue forever.
const guardMarginMillis = 1000

class Processor implements SpanExportProcessor {
  private readonly options: Options
  private readonly maxSpanBytes: number
  private readonly maxBatchBytes: number
  private readonly redaction: Redaction.Rules
  private queue: Array<ReadableSpan> = []
  private inFlight: Promise<void> | undefined
  private abandonInFlight: ((reason: Error) => void) | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private steady: SpanExporter | undefined
  private closed = false
  private closing: Promise<void> | undefined
  private exportedCount = 0
  private readonly droppedCount: Record<DropReason, number> = { queue_full: 0, export_failed: 0, too_large: 0 }
  private readonly unreported: Record<DropReason, number> = { queue_full: 0, export_failed: 0, too_large: 0 }
  private readonly details: Record<DropReason, string> = { queue_full: "", export_failed: "", too_large: "" }

  constructor(options: Options) {
    this.options = options
    this.maxSpanBytes = options.maxSpanBytes ?? 1024 * 1024
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024
    this.redaction = options.redaction ?? Redaction.defaultRules
    this.details.queue_full = `the export queue is full (${options.maxQueueSize} spans)`
  }

  exported = () => this.exportedCount
  dropped = (reason: DropReason) => this.droppedCount[reason]

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.closed || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return
    if (this.queue.length >= this.options.maxQueueSize) {
      this.drop("queue_full", 1)
      return
    }
    this.queue.push(span)
    this.schedule()
  }

  forceFlush(): Promise<void> {
    return this.drain(Date.now() + this.options.flushTimeoutMillis, false)
  }

  shutdown(): Promise<void> {
    if (this.closing === undefined) {
      this.closed = true
      this.clearTimer()
      this.closing = this.drain(Date.now() + this.options.flushTimeoutMillis, true).then(() => {
        // Not awaited: the exporter's shutdown waits for an abandoned export.
        this.steady?.shutdown().catch(() => {})
      })
    }
    return this.closing
  }

  /** Exports until the queue is empty or `deadline` has passed; on close, what is left is dropped. */
  private async drain(deadline: number, close: boolean): Promise<void> {
    for (;;) {
      if (this.inFlight !== undefined) {
        if (!(await untilDeadline(this.inFlight, deadline))) break
        continue
      }
      if (this.queue.length === 0) break
      const remaining = deadline - Date.now()
      if (remaining <= 0) break
      this.startExport(Math.min(remaining, this.options.exportTimeoutMillis))
    }
    if (close) {
      // Counted now, so that the counts are final once shutdown returns.
      this.abandonInFlight?.(new Error("no answer from the collector before the shutdown timeout"))
      if (this.queue.length > 0) {
        this.drop("export_failed", this.queue.length, "the collector did not take them before the shutdown timeout")
        this.queue = []
      }
    }
    this.report()
  }

  private schedule(): void {
    if (this.closed || this.inFlight !== undefined) return
    if (this.queue.length >= this.options.maxExportBatchSize) {
      this.clearTimer()
      this.startExport(this.options.exportTimeoutMillis)
    } else if (this.queue.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        if (this.inFlight === undefined) this.startExport(this.options.exportTimeoutMillis)
      }, this.options.scheduledDelayMillis)
      // A pending batch must not keep an idle process alive: the layer's release flushes it.
      this.timer.unref()
    }
  }

  private startExport(timeoutMillis: number): void {
    const batch = this.cut()
    this.report()
    if (batch.length === 0) return
    const { promise, resolve } = Promise.withResolvers<void>()
    this.inFlight = promise
    let settled = false
    const settle = (error: unknown) => {
      if (settled) return
      settled = true
      clearTimeout(guard)
      this.inFlight = undefined
      this.abandonInFlight = undefined
      if (error === undefined) this.exportedCount += batch.length
      else this.drop("export_failed", batch.length, describe(error))
      resolve()
      this.report()
      this.schedule()
    }
    const guard = setTimeout(
      () => settle(new Error(`the exporter did not answer within ${timeoutMillis} ms`)),
      timeoutMillis + guardMarginMillis
    )
    guard.unref()
    this.abandonInFlight = settle
    try {
      this.exporterFor(timeoutMillis).export(batch, (result) =>
        // ExportResultCode.SUCCESS of @opentelemetry/core
        settle(result.code === 0 ? undefined : result.error ?? new Error("export failed")))
    } catch (error) {
      settle(error)
    }
  }

  /** The next batch off the queue, each span bounded; spans too large even then are dropped. */
  private cut(): Array<ReadableSpan> {
    const batch: Array<ReadableSpan> = []
    let bytes = 0
    let taken = 0
    while (taken < this.queue.length && batch.length < this.options.maxExportBatchSize) {
      const span = safeSpan(this.queue[taken]!, this.options.maxAttributeLength, this.redaction)
      const size = estimatedSize(span)
      if (size > this.maxSpanBytes) {
        this.drop("too_large", 1, `"${span.name.slice(0, 100)}" is about ${size} bytes, over ${this.maxSpanBytes}`)
      } else if (batch.length > 0 && bytes + size > this.maxBatchBytes) {
        break
      } else {
        batch.push(span)
        bytes += size
      }
      taken++
    }
    this.queue.splice(0, taken)
    return batch
  }

  // Exports at shutdown get what is left of its budget, so that no retry of theirs outlives it.
  private exporterFor(timeoutMillis: number): SpanExporter {
    if (timeoutMillis < this.options.exportTimeoutMillis) return this.options.exporter(timeoutMillis)
    this.steady ??= this.options.exporter(timeoutMillis)
    return this.steady
  }

  private drop(reason: DropReason, count: number, detail?: string): void {
    this.droppedCount[reason] += count
    this.unreported[reason] += count
    if (detail !== undefined) this.details[reason] = detail
  }

  private report(): void {
    for (const reason of dropReasons) {
      const count = this.unreported[reason]
      if (count === 0) continue
      this.unreported[reason] = 0
      this.options.onDropped?.(reason, count, this.details[reason])
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}

const describe = (error: unknown): string => {
  const text = error instanceof Error ? error.message || error.name : String(error)
  const code = typeof error === "object" && error !== null && "code" in error && error.code !== undefined
    ? ` (${String(error.code)})`
    : ""
  return (text + code).slice(0, 300)
}

/** Whether `promise` settled before `deadline`. The timer stays referenced: the flush is what the process waits for. */
const untilDeadline = (promise: Promise<void>, deadline: number): Promise<boolean> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))
    promise.then(() => {
      clearTimeout(timer)
      resolve(true)
    })
  })

/**
 * A processor for a tracer provider of your own; `Tracing.layer` wires one
 * from the `OTEL_*` variables.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): SpanExportProcessor => new Processor(options)
