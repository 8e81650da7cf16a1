/**
 * The dashboard over HTTP, without a browser (BrowserDashboard.test.ts has
 * one): the page and its files are served from this origin under a policy
 * that allows no inline script, without the token (they hold no data); the
 * data needs the token; `/api/apm` carries the current resources and
 * `/api/apm/history` answers JSON, refuses a bad `since` naming it, and says
 * so when the Apm keeps no history.
 */
import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { Effect, Layer, Metric, Option, Redacted } from "effect"
import * as MetricsServer from "../src/MetricsServer.ts"
import { guardedServer, port, request } from "./support/http.ts"
import { baseUrl, liveStack } from "./support/live.ts"

const token = "dashboard-token"
const bearer = { authorization: `Bearer ${token}`, host: "127.0.0.1" }

describe("HttpDashboard", () => {
  it.live("serves the page and its files without the token, under a policy with no inline script", () =>
    Effect.gen(function*() {
      const p = yield* port
      const page = yield* request(p, "/", { headers: { host: "127.0.0.1" } })
      assert.strictEqual(page.status, 200)
      const csp = String(page.headers["content-security-policy"])
      assert.include(csp, "script-src 'self'")
      assert.notInclude(csp, "unsafe-inline")
      assert.include(csp, "form-action 'none'")
      assert.notMatch(page.body, /<script>|<script [^>]*>[^<]/)
      assert.notMatch(page.body, /https?:\/\//)
      const scripts = [...page.body.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!)
      assert.deepStrictEqual(scripts, ["/assets/uPlot.iife.min.js", "/assets/dashboard.js"])
      for (const path of [...scripts, "/assets/dashboard.css", "/assets/uPlot.min.css"]) {
        const file = yield* request(p, path, { headers: { host: "127.0.0.1" } })
        assert.strictEqual(file.status, 200, path)
        assert.match(String(file.headers["content-type"]), path.endsWith(".js") ? /^text\/javascript/ : /^text\/css/)
      }
      assert.strictEqual((yield* request(p, "/api/apm", { headers: { host: "127.0.0.1" } })).status, 401)
      assert.strictEqual((yield* request(p, "/api/apm/history", { headers: { host: "127.0.0.1" } })).status, 401)
      assert.include(MetricsServer.paths, "/api/apm/history")
    }).pipe(
      Effect.provide(guardedServer({ token: Option.some(Redacted.make(token)) })),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.live("without History the history route says why it has nothing", () =>
    Effect.gen(function*() {
      const reply = yield* request(yield* port, "/api/apm/history", { headers: bearer })
      assert.strictEqual(reply.status, 404)
      assert.include(reply.body, "no history is kept")
    }).pipe(
      Effect.provide(guardedServer({ token: Option.some(Redacted.make(token)) })),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.live("the live stack answers /api/apm with resources and /api/apm/history as JSON; a bad since is named", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(liveStack("dashboard-http"))
      yield* Effect.sleep("1 millis").pipe(Apm.trace("checkout", "business_transaction"), Effect.provide(context))
      const url = new URL(yield* Effect.provide(baseUrl, context))
      const p = Number(url.port)
      const snapshot = yield* request(p, "/api/apm", { headers: { host: "127.0.0.1" } })
      const data = JSON.parse(snapshot.body)
      assert.deepStrictEqual(Object.keys(data), ["summaries", "baselines", "anomalies", "insights", "resources"])
      assert.isAbove(data.resources.memory.rss, 0)
      const history = yield* request(p, "/api/apm/history?operation=checkout&since=0", {
        headers: { host: "127.0.0.1" }
      })
      assert.strictEqual(history.status, 200)
      assert.match(String(history.headers["content-type"]), /^application\/json/)
      const document = JSON.parse(history.body)
      assert.strictEqual(document.interval, 2)
      assert.deepStrictEqual(document.operations.map((o: { operationName: string }) => o.operationName), ["checkout"])
      const bad = yield* request(p, "/api/apm/history?since=yesterday", { headers: { host: "127.0.0.1" } })
      assert.strictEqual(bad.status, 400)
      assert.include(bad.body, `since must be a time in epoch milliseconds, not "yesterday"`)
    }))
})
