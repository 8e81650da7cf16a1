/**
 * `GET /api/apm/history?operation=...&since=...`: the dashboard history as
 * JSON. `operation` may repeat (none: every operation kept); `since`, epoch
 * milliseconds, keeps the points after it, so a poller fetches only what is
 * new. The response is bounded by the history's caps. Without a `History`
 * in context (an `Apm` built without one) it answers 404 saying so.
 *
 * @since 0.1.0
 */
import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { History } from "./History.ts"

/**
 * The route's path.
 *
 * @category constants
 * @since 0.1.0
 */
export const path = "/api/apm/history"

const badRequest = (message: string) => HttpServerResponse.text(`400 Bad Request: ${message}\n`, { status: 400 })

/**
 * @category layers
 * @since 0.1.0
 */
export const route = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const history = yield* Effect.serviceOption(History)
  yield* router.add(
    "GET",
    path,
    Effect.gen(function*() {
      if (Option.isNone(history)) {
        return HttpServerResponse.text(
          `404 Not Found: no history is kept (the Apm was built without History.layer)\n`,
          {
            status: 404
          }
        )
      }
      const request = yield* HttpServerRequest.HttpServerRequest
      const query = new URLSearchParams(request.url.split("?")[1] ?? "")
      const sinceText = query.get("since")
      const since = sinceText === null ? undefined : Number(sinceText)
      if (since !== undefined && (sinceText!.trim() === "" || !Number.isFinite(since))) {
        return badRequest(`since must be a time in epoch milliseconds, not ${JSON.stringify(sinceText!.slice(0, 40))}`)
      }
      const operations = query.getAll("operation")
      if (operations.length > history.value.options.maxOperations) {
        return badRequest(
          `at most ${history.value.options.maxOperations} operation parameters, not ${operations.length}`
        )
      }
      const document = yield* history.value.query({
        operations: operations.length === 0 ? undefined : operations,
        since
      })
      return HttpServerResponse.text(JSON.stringify(document), { contentType: "application/json" })
    })
  )
}))
