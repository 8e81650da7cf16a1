/**
 * A rendered document (the Prometheus exposition, the dashboard's JSON)
 * served again for an interval instead of rendered per request: within the
 * interval every scraper gets the same bytes; past it the first scraper
 * renders afresh while the others wait for that one rendering, so at most
 * one render of a document is under way at a time however many scrapers ask.
 * Each rendering is gzipped once, off the event loop, for the clients that
 * accept it (Prometheus does): a scrape then writes a tenth of the bytes.
 */
import { Duration, Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { promisify } from "node:util"
import { gzip } from "node:zlib"
import { lastMemo } from "./lastMemo.ts"

const gzipAsync = promisify(gzip)

/** Whether an `Accept-Encoding` header admits gzip (a `q=0` refuses it). */
export const acceptsGzip = (header: string | undefined): boolean =>
  (header ?? "").split(",").some((part) => {
    const [coding, ...parameters] = part.split(";").map((s) => s.trim().toLowerCase())
    if (coding !== "gzip" && coding !== "x-gzip" && coding !== "*") return false
    const q = parameters.find((p) => p.startsWith("q="))
    return q === undefined || Number(q.slice(2)) > 0
  })

const vary = { vary: "accept-encoding" }

/** The cached responder for `render`, which yields the document's text. */
export const make = <E, R>(
  render: Effect.Effect<string, E, R>,
  options: { readonly contentType: string; readonly interval: Duration.Input }
): Effect.Effect<Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest>> => {
  const gzipAccepted = lastMemo(acceptsGzip)
  return Effect.map(
    Effect.cachedWithTTL(
      Effect.flatMap(render, (body) =>
        Effect.map(Effect.promise(() => gzipAsync(body)), (compressed) => ({
          plain: HttpServerResponse.text(body, { contentType: options.contentType, headers: vary }),
          gzip: HttpServerResponse.uint8Array(compressed, {
            contentType: options.contentType,
            headers: { ...vary, "content-encoding": "gzip" }
          })
        }))),
      options.interval
    ),
    (rendering) =>
      Effect.flatMap(
        HttpServerRequest.HttpServerRequest,
        (request) => Effect.map(rendering, (r) => gzipAccepted(request.headers["accept-encoding"]) ? r.gzip : r.plain)
      )
  )
}
