import { Effect } from "effect"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** What the fake collector does with each `POST /v1/traces`. */
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
  readonly name: string
  readonly statusMessage: string | undefined
  readonly attributes: Record<string, string>
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, string> }>
}

interface OtlpAttribute {
  readonly key: string
  readonly value: { readonly stringValue?: string }
}

const attributesOf = (list: ReadonlyArray<OtlpAttribute> | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).map((a) => [a.key, a.value.stringValue ?? JSON.stringify(a.value)]))

const spansOf = (body: string): Array<ReceivedSpan> => {
  const request = JSON.parse(body) as {
    resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<any> }> }>
  }
  return request.resourceSpans.flatMap((r) =>
    r.scopeSpans.flatMap((s) =>
      s.spans.map((span) => ({
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
}

/**
 * An OTLP/HTTP collector on 127.0.0.1 playing `behaviour` (changeable at any
 * time), recording every request: the spans it accepted, how many requests
 * came, the most that were ever open at once and the largest body. Closed with the scope,
 * hung requests included.
 */
export const collector = (initial: Behaviour) =>
  Effect.gen(function*() {
    let behaviour = initial
    let remaining = initial._tag === "status" ? initial.times ?? 0 : 0
    const accepted: Array<ReceivedSpan> = []
    const state = { requests: 0, open: 0, maxOpen: 0, maxBodyBytes: 0 }
    const answer = (res: ServerResponse, body: string) => {
      if (behaviour._tag === "ok") {
        accepted.push(...spansOf(body))
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
        if (behaviour._tag === "hang") return
        answer(res, body.toString("utf8"))
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
      state,
      set: (next: Behaviour) => {
        behaviour = next
        remaining = next._tag === "status" ? next.times ?? 0 : 0
      }
    }
  })
