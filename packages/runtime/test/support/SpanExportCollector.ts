import { Effect } from "effect"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** What the fake collector does with each request, whatever its signal. */
export type Behaviour =
  | { readonly _tag: "ok" }
  | {
    readonly _tag: "status"
    readonly status: number
    readonly headers?: Record<string, string>
    /** Answer this way so many times, then accept. */
    readonly times?: number
  }
  | { readonly _tag: "hang" }

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly name: string
  readonly statusMessage: string | undefined
  readonly attributes: Record<string, string>
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, string> }>
}

export interface ReceivedLogRecord {
  readonly traceId: string | undefined
  readonly spanId: string | undefined
  readonly severityText: string
  readonly severityNumber: number
  readonly body: string | undefined
  readonly attributes: Record<string, string>
}

/** One data point of an exported metric, as the OTLP JSON encoding carries it. */
export interface ReceivedMetricPoint {
  readonly name: string
  readonly attributes: Record<string, string>
  readonly value: number | undefined
}

/** One request as it came, whatever the collector answered. */
interface ReceivedRequest {
  readonly path: string
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly contentType: string | undefined
  /** The resource attributes of the request's first resource. */
  readonly resource: Record<string, string>
}

interface OtlpAttribute {
  readonly key: string
  readonly value: { readonly stringValue?: string }
}

const attributesOf = (list: ReadonlyArray<OtlpAttribute> | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map((a) => [a.key, a.value.stringValue ?? JSON.stringify(a.value)]))

const spansOf = (request: any): Array<ReceivedSpan> =>
  (request.resourceSpans as Array<{ scopeSpans: Array<{ spans: Array<any> }> }>).flatMap((r) =>
    r.scopeSpans.flatMap((s) =>
      s.spans.map((span) => ({
        traceId: span.traceId as string,
        spanId: span.spanId as string,
        name: span.name as string,
        statusMessage: span.status?.message as string | undefined,
        attributes: attributesOf(span.attributes),
        events: (span.events ?? []).map((e: any) => ({
          name: e.name as string,
          attributes: attributesOf(e.attributes)
        }))
      }))
    )
  )

const logsOf = (request: any): Array<ReceivedLogRecord> =>
  (request.resourceLogs as Array<{ scopeLogs: Array<{ logRecords: Array<any> }> }>).flatMap((r) =>
    r.scopeLogs.flatMap((s) =>
      s.logRecords.map((record) => ({
        traceId: record.traceId || undefined,
        spanId: record.spanId || undefined,
        severityText: record.severityText as string,
        severityNumber: record.severityNumber as number,
        body: record.body?.stringValue as string | undefined,
        attributes: attributesOf(record.attributes)
      }))
    )
  )

const metricPointsOf = (request: any): Array<ReceivedMetricPoint> =>
  (request.resourceMetrics as Array<{ scopeMetrics: Array<{ metrics: Array<any> }> }>).flatMap((r) =>
    r.scopeMetrics.flatMap((s) =>
      s.metrics.flatMap((metric) => {
        const data = metric.sum ?? metric.gauge ?? metric.histogram ?? metric.summary ?? { dataPoints: [] }
        return (data.dataPoints as Array<any>).map((point) => ({
          name: metric.name as string,
          attributes: attributesOf(point.attributes),
          value: point.asDouble ?? (point.asInt === undefined ? point.sum : Number(point.asInt))
        }))
      })
    )
  )

const resourceOf = (request: any): Record<string, string> => {
  const first = (request.resourceSpans ?? request.resourceLogs ?? request.resourceMetrics)?.[0]
  return attributesOf(first?.resource?.attributes)
}

/**
 * An OTLP/HTTP collector on 127.0.0.1 playing `behaviour` (changeable at any
 * time) for `/v1/traces`, `/v1/metrics` and `/v1/logs` (and any other path,
 * taken as the signal its body carries), recording every request (its
 * path, headers and resource), what it accepted (spans, log records, metric
 * points), how many requests came, the most that were ever open at once and
 * the largest body. Closed with the scope, hung requests included.
 */
export const collector = (initial: Behaviour) =>
  Effect.gen(function*() {
    let behaviour = initial
    let remaining = initial._tag === "status" ? initial.times ?? 0 : 0
    const accepted: Array<ReceivedSpan> = []
    const logs: Array<ReceivedLogRecord> = []
    const metrics: Array<ReceivedMetricPoint> = []
    const requests: Array<ReceivedRequest> = []
    const state = { requests: 0, open: 0, maxOpen: 0, maxBodyBytes: 0 }
    const answer = (res: ServerResponse, body: any) => {
      if (behaviour._tag === "ok") {
        if (body.resourceSpans !== undefined) accepted.push(...spansOf(body))
        if (body.resourceLogs !== undefined) logs.push(...logsOf(body))
        if (body.resourceMetrics !== undefined) metrics.push(...metricPointsOf(body))
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      } else if (behaviour._tag === "status") {
        const { headers, status, times } = behaviour
        if (times !== undefined && --remaining <= 0) behaviour = { _tag: "ok" }
        res.writeHead(status, { "content-type": "text/plain", ...headers }).end("no")
      }
    }
    const server = createServer((req, res) => {
      state.requests++
      state.open++
      state.maxOpen = Math.max(state.maxOpen, state.open)
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const body = Buffer.concat(chunks)
        state.maxBodyBytes = Math.max(state.maxBodyBytes, body.length)
        const request = JSON.parse(body.toString("utf8"))
        requests.push({
          path: req.url ?? "",
          headers: req.headers,
          contentType: req.headers["content-type"],
          resource: resourceOf(request)
        })
        if (behaviour._tag === "hang") return
        answer(res, request)
      })
      // Emitted once the answer is sent or the connection is gone, a hung request's included.
      res.on("close", () => {
        state.open--
      })
    })
    yield* Effect.acquireRelease(
      Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
      () =>
        Effect.promise(() =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
        )
    )
    const { port } = server.address() as AddressInfo
    return {
      endpoint: `http://127.0.0.1:${port}`,
      accepted,
      logs,
      metrics,
      requests,
      state,
      set: (next: Behaviour) => {
        behaviour = next
        remaining = next._tag === "status" ? next.times ?? 0 : 0
      }
    }
  })
