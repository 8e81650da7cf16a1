/**
 * The built-in live dashboard, for when no Grafana is at hand: `GET /` is a
 * page (its script, stylesheet and uPlot served beside it, nothing fetched
 * from elsewhere) that charts latency against the baseline band with the
 * anomalies marked, the operations, anomalies, insights and resources. It
 * polls two JSON documents: `GET /api/apm` (summaries, baselines, recent
 * anomalies, insights, the current resource reading) and
 * `GET /api/apm/history` (see `dashboard/HistoryRoute.ts`). Operation names
 * come from users of the library, so the page only ever puts them in the
 * DOM as text, never as HTML, with bidirectional controls shown escaped,
 * and a Content-Security-Policy forbids any script but its own files.
 *
 * When `APM_HTTP_TOKEN` guards the API, the page (which holds no data)
 * asks for the token once and keeps it in `sessionStorage`, for this tab
 * only, sending it as an `Authorization` header: never in a URL, where
 * history, logs and `Referer` would keep it.
 *
 * @since 0.1.0
 */
import { Apm } from "@mcp-apm/core"
import { Duration, Effect, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import * as Assets from "./dashboard/Assets.ts"
import * as HistoryRoute from "./dashboard/HistoryRoute.ts"
import * as ExpositionCache from "./internal/expositionCache.ts"

/**
 * Everything the page shows but the history, as one JSON document.
 *
 * @category handlers
 * @since 0.1.0
 */
export const snapshot = Effect.gen(function*() {
  return {
    summaries: yield* Apm.summaries,
    baselines: yield* Apm.baselines,
    anomalies: yield* Apm.recentAnomalies(20),
    insights: yield* Apm.insights,
    resources: Option.getOrNull(yield* Apm.resourceUsage)
  }
})

/**
 * The paths served without the token: the page and its static files, which
 * hold no data.
 *
 * @category constants
 * @since 0.1.0
 */
export const openPaths = Assets.paths

/**
 * The paths the dashboard serves.
 *
 * @category constants
 * @since 0.1.0
 */
export const paths = [...Assets.paths, "/api/apm", HistoryRoute.path]

const api = (interval: Duration.Input) =>
  HttpRouter.use(Effect.fnUntraced(function*(router) {
    const rendered = yield* ExpositionCache.make(Effect.map(snapshot, (data) => JSON.stringify(data)), {
      contentType: "application/json",
      interval
    })
    yield* router.add("GET", "/api/apm", rendered)
  }))

/**
 * The routes of the dashboard; `/api/apm` is rendered at most once per
 * `cacheInterval`, however many pollers ask.
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = (options: { readonly cacheInterval: Duration.Input }) =>
  Layer.mergeAll(Assets.routes, api(options.cacheInterval), HistoryRoute.route)
