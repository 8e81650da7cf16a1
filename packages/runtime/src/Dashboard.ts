/**
 * The built-in live dashboard, for when no Grafana is at hand: `GET /` is a
 * self-contained page (no external assets, nothing fetched from elsewhere)
 * that polls `GET /api/apm`, the JSON of summaries, baselines, recent
 * anomalies and insights. Operation names come from users of the library,
 * so the page only ever puts them in the DOM as text, never as HTML, and a
 * Content-Security-Policy forbids any other script.
 *
 * When `APM_HTTP_TOKEN` guards the API, the page (which holds no data)
 * asks for the token once and keeps it in `sessionStorage`, for this tab
 * only, sending it as an `Authorization` header: never in a URL, where
 * history, logs and `Referer` would keep it.
 *
 * @since 0.1.0
 */
import { Apm } from "@mcp-apm/core"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import * as ExpositionCache from "./internal/expositionCache.ts"

/**
 * Everything the page shows, as one JSON document.
 *
 * @category handlers
 * @since 0.1.0
 */
export const snapshot = Effect.gen(function*() {
  return {
    summaries: yield* Apm.summaries,
    baselines: yield* Apm.baselines,
    anomalies: yield* Apm.recentAnomalies(20),
    insights: yield* Apm.insights
  }
})

const script = `
const $ = (id) => document.getElementById(id)
const tokenKey = "mcp-apm-token"
let asking = false
function authorization() {
  const token = sessionStorage.getItem(tokenKey)
  return token === null ? {} : { authorization: "Bearer " + token }
}
function ask(message) {
  asking = true
  $("login-message").textContent = message
  $("login").hidden = false
  $("token").focus()
}
$("login").addEventListener("submit", (event) => {
  event.preventDefault()
  sessionStorage.setItem(tokenKey, $("token").value)
  $("token").value = ""
  $("login").hidden = true
  asking = false
  refresh()
})
const ms = (s) => (s * 1000).toFixed(1) + " ms"
function row(cells, cls) {
  const tr = document.createElement("tr")
  if (cls) tr.className = cls
  for (const c of cells) { const td = document.createElement("td"); td.textContent = String(c); tr.appendChild(td) }
  return tr
}
function fill(id, rows) { const body = $(id); body.replaceChildren(...rows) }
async function refresh() {
  if (asking) return
  try {
    const response = await fetch("/api/apm", { cache: "no-store", headers: authorization() })
    if (response.status === 401) {
      const refused = sessionStorage.getItem(tokenKey) !== null
      sessionStorage.removeItem(tokenKey)
      ask(refused ? "The token was refused. APM_HTTP_TOKEN:" : "This dashboard needs APM_HTTP_TOKEN:")
      return
    }
    if (!response.ok) throw new Error("HTTP " + response.status)
    const data = await response.json()
    const ops = [...data.summaries].sort((a, b) => b.p95Duration - a.p95Duration)
    fill("operations", ops.map((s) => row([s.operationName, s.operationType, s.totalOperations,
      (s.successRate * 100).toFixed(1) + "%", ms(s.p50Duration), ms(s.p95Duration), ms(s.p99Duration), s.slowCount],
      s.successRate < 0.95 ? "bad" : "")))
    fill("anomalies", data.anomalies.map((a) => row([new Date(a.lastSeen).toLocaleTimeString(), a.severity, a.kind,
      a.operationName, ms(a.duration), ms(a.baselineMean), a.zScore.toFixed(1), a.count], a.severity.toLowerCase())))
    fill("insights", data.insights.map((i) => row([i.severity, i.message, i.recommendation], i.severity.toLowerCase())))
    $("status").textContent = "updated " + new Date().toLocaleTimeString()
  } catch (e) {
    $("status").textContent = "cannot reach the service: " + e
  }
}
refresh()
setInterval(refresh, 2000)
`

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mcp-apm</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa }
h1 { font-size: 1.3rem; margin: 0 0 .2rem } h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem }
#status { color: #667 } table { border-collapse: collapse; width: 100%; background: #fff }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ec; vertical-align: top }
th { background: #eef1f6; font-weight: 600 } td:nth-child(n+3) { font-variant-numeric: tabular-nums }
.bad, .error { background: #fff1f0 } .critical { background: #ffd9d6 } .warning { background: #fff8e1 }
</style></head>
<body>
<h1>mcp-apm</h1><div id="status">loading</div>
<form id="login" hidden><label for="token" id="login-message"></label>
<input id="token" type="password" autocomplete="current-password" required> <button>open</button></form>
<h2>Insights</h2>
<table><thead><tr><th>severity</th><th>what</th><th>what to do</th></tr></thead><tbody id="insights"></tbody></table>
<h2>Anomalies</h2>
<table><thead><tr><th>last seen</th><th>severity</th><th>kind</th><th>operation</th><th>duration</th><th>baseline</th><th>z</th><th>samples</th></tr></thead><tbody id="anomalies"></tbody></table>
<h2>Operations</h2>
<table><thead><tr><th>operation</th><th>type</th><th>count</th><th>success</th><th>p50</th><th>p95</th><th>p99</th><th>slow</th></tr></thead><tbody id="operations"></tbody></table>
<script>${script}</script>
</body></html>
`

const scriptHash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(script))
// form-action 'none': were the script to fail, the login form still cannot put the token in a URL.
const contentSecurityPolicy = `default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'none'; script-src 'sha256-${
  Buffer.from(scriptHash).toString("base64")
}'`

/**
 * The page's path.
 *
 * @category constants
 * @since 0.1.0
 */
export const pagePath = "/"

/**
 * The paths the dashboard serves.
 *
 * @category constants
 * @since 0.1.0
 */
export const paths = [pagePath, "/api/apm"]

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
  Layer.mergeAll(
    HttpRouter.add(
      "GET",
      pagePath,
      HttpServerResponse.html(page).pipe(HttpServerResponse.setHeaders({ "content-security-policy": contentSecurityPolicy }))
    ),
    api(options.cacheInterval)
  )
