/**
 * The dashboard in a real browser: Debian's chromium, driven by
 * playwright-core, against the real demo program (a child process on a free
 * port, with a fault early in the run) and against the live stack in this
 * process (hostile operation names, a token). It proves that the page shows
 * the demo's operations, the slowed model's chart with the baseline band and
 * an anomaly marker, insights and resource charts; that hostile names stay
 * text (no dialog, no script, no CSP violation, bidi controls escaped); and
 * that under `APM_HTTP_TOKEN` the page asks for the token, says when it is
 * wrong, and then works. A screenshot goes to `test-artifacts/` (git-ignored).
 *
 * Without /usr/bin/chromium these tests fail, saying how to install it:
 * they are never skipped.
 */
import { assert, describe, it } from "@effect/vitest"
import { Apm, ApmConfig } from "@mcp-apm/core"
import { Duration, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { chromium } from "playwright-core"
import type { Browser, Page } from "playwright-core"
import { ApmLiveStack, RuntimeConfig } from "../src/index.ts"
import { start } from "./support/cliProcess.ts"
import { baseUrl, temporaryDirectory } from "./support/live.ts"

const executablePath = "/usr/bin/chromium"
const artifacts = join(import.meta.dirname, "../../../test-artifacts")

const browser = Effect.acquireRelease(
  Effect.tryPromise(() => {
    if (!existsSync(executablePath)) {
      throw new Error(
        `${executablePath} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`
      )
    }
    return chromium.launch({
      executablePath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    })
  }),
  (b: Browser) => Effect.promise(() => b.close())
)

interface Watched {
  readonly page: Page
  readonly dialogs: Array<string>
  readonly errors: Array<string>
  readonly violations: () => Promise<Array<string>>
}

/** A page that records every dialog, uncaught error and CSP violation. */
const open = (b: Browser, url: string) =>
  Effect.tryPromise(async (): Promise<Watched> => {
    const page = await b.newPage({ viewport: { width: 1400, height: 1600 } })
    const dialogs: Array<string> = []
    const errors: Array<string> = []
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    page.on("pageerror", (error) => errors.push(error.message))
    await page.addInitScript(`
      globalThis.cspViolations = []
      document.addEventListener("securitypolicyviolation", (e) => cspViolations.push(e.violatedDirective + " " + e.blockedURI))
    `)
    await page.goto(url)
    return { page, dialogs, errors, violations: () => page.evaluate<Array<string>>("cspViolations") }
  })

const text = (page: Page, selector: string) => page.locator(selector).innerText()

const liveStack = (token: Option.Option<string>, port = 0) =>
  ApmLiveStack.make(
    ApmConfig.ApmConfig.layer(),
    RuntimeConfig.layer({
      host: "127.0.0.1",
      port,
      serviceName: "browser-test",
      baselineFile: join(temporaryDirectory("mcp-apm-browser"), "baselines.json"),
      profileDirectory: Option.none(),
      httpToken: Option.map(token, Redacted.make),
      shutdownTimeout: Duration.seconds(3)
    })
  )

const hostileNames = ["<img src=x onerror=alert(1)>", "<svg onload=alert(2)>", "invoice\u202Efdp.exe"]

describe("BrowserDashboard", () => {
  it.live(
    "shows the demo's operations, the slowed model against its baseline band, insights and resources",
    () =>
      Effect.gen(function*() {
        const demo = start(
          ["demo", "--port", "0", "--duration", "50", "--fault-at", "8", "--seed", "11", "--rate", "80"],
          { APM_HISTORY_INTERVAL: "1 second" }
        )
        yield* Effect.addFinalizer(() => Effect.sync(() => demo.kill("SIGKILL")))
        const url = yield* Effect.promise(() => demo.ready)
        const { page, dialogs, errors, violations } = yield* open(yield* browser, `${url}/`)
        // the fault slows model requests: an anomaly of a `text_completion <model>` operation is listed
        const anomaly = page.locator("#anomalies tr", { hasText: "text_completion " }).first()
        yield* Effect.tryPromise(() => anomaly.waitFor({ timeout: 40_000 }))
        yield* Effect.tryPromise(() => anomaly.click())
        const chart = page.locator("#latency-chart")
        yield* Effect.tryPromise(() =>
          // a function, not a string: the page's CSP (rightly) refuses the eval a string predicate needs
          page.waitForFunction(
            () => {
              const d = (globalThis as any).document.getElementById("latency-chart").dataset
              return d.operation.startsWith("text_completion ") && Number(d.bandPoints) > 0 &&
                Number(d.anomalyMarkers) > 0
            },
            undefined,
            { timeout: 10_000 }
          )
        )
        assert.match(yield* Effect.promise(() => text(page, "#selected-name")), /^text_completion /)
        assert.isAbove(Number(yield* Effect.promise(() => chart.getAttribute("data-anomaly-markers"))), 0)
        const operations = yield* Effect.promise(() => text(page, "#operations"))
        for (
          const name of [
            "model_router.route",
            "plan_management.storage.save",
            "git worktree add",
            "verification_feedback.lint"
          ]
        ) {
          assert.include(operations, name)
        }
        // filterable by type and name, sortable by a column
        yield* Effect.tryPromise(() => page.selectOption("#filter-type", "git_operation"))
        const types = yield* Effect.promise(() => page.locator("#operations tr td:nth-child(2)").allInnerTexts())
        assert.isAbove(types.length, 0)
        assert.deepStrictEqual([...new Set(types)], ["git_operation"])
        yield* Effect.tryPromise(() => page.fill("#filter-name", "worktree"))
        const names = yield* Effect.promise(() => page.locator("#operations tr td:first-child").allInnerTexts())
        assert.deepStrictEqual(names.map((n) => n.replace(/^\W+/, "")).sort(), [
          "git worktree add",
          "git worktree remove"
        ])
        yield* Effect.tryPromise(() => page.click("th[data-sort=operationName]"))
        const sorted = yield* Effect.promise(() => page.locator("#operations tr td:first-child").allInnerTexts())
        assert.deepStrictEqual(sorted.map((n) => n.replace(/^\W+/, "")), ["git worktree remove", "git worktree add"])
        yield* Effect.tryPromise(() => page.fill("#filter-name", ""))
        yield* Effect.tryPromise(() => page.selectOption("#filter-type", ""))
        yield* Effect.tryPromise(() => page.locator("#insights tr").first().waitFor({ timeout: 10_000 }))
        for (const id of ["chart-cpu", "chart-memory", "chart-loop", "chart-gc", "chart-io"]) {
          const points = yield* Effect.promise(() => page.locator(`#${id}`).getAttribute("data-points"))
          assert.isAbove(Number(points), 0, id)
        }
        mkdirSync(artifacts, { recursive: true })
        yield* Effect.promise(() => page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true }))
        assert.deepStrictEqual(dialogs, [])
        assert.deepStrictEqual(errors, [])
        assert.deepStrictEqual(yield* Effect.promise(violations), [])
        demo.kill("SIGINT")
        const finished = yield* Effect.promise(() => demo.finished)
        // the terminal named it too, as it happened
        assert.match(finished.stdout, /^anomaly \((WARNING|ERROR|CRITICAL)\): text_completion /m)
      }),
    60_000
  )

  it.live("renders hostile operation names as text: no dialog, no script, no CSP violation, bidi escaped", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(liveStack(Option.none()))
      const url = yield* Effect.provide(baseUrl, context)
      for (let i = 0; i < 5; i++) {
        for (const name of hostileNames) {
          yield* Effect.sleep("2 millis").pipe(Apm.trace(name, "custom_operation"), Effect.provide(context))
        }
      }
      const { page, dialogs, errors, violations } = yield* open(yield* browser, `${url}/`)
      yield* Effect.tryPromise(() =>
        page.waitForFunction(
          () => (globalThis as any).document.querySelectorAll("#operations tr").length >= 3,
          undefined,
          {
            timeout: 10_000
          }
        )
      )
      const row = page.locator("#operations tr", { hasText: "<img" }).first()
      yield* Effect.tryPromise(() => row.click())
      const operations = yield* Effect.promise(() => text(page, "#operations"))
      assert.include(operations, "<img src=x onerror=alert(1)>")
      assert.include(operations, "<svg onload=alert(2)>")
      assert.include(operations, "invoice\\u202Efdp.exe")
      const body = yield* Effect.promise(() => page.evaluate<string>("document.body.innerText"))
      assert.notInclude(body, "\u202E")
      assert.include(yield* Effect.promise(() => text(page, "#selected-name")), "<img src=x onerror=alert(1)>")
      const injected = yield* Effect.promise(() =>
        page.evaluate<number>(`document.querySelectorAll("main img, main svg").length`)
      )
      assert.strictEqual(injected, 0)
      // anything that would fire late (an image error, a load handler) has by the time the page has
      // polled and rendered the names once more, and a frame has been drawn since
      const polled = (response: { url: () => string }) => new URL(response.url()).pathname === "/api/apm"
      yield* Effect.tryPromise(() => page.waitForResponse(polled))
      yield* Effect.tryPromise(() =>
        page.evaluate(() =>
          new Promise((resolve) => (globalThis as any).requestAnimationFrame(() => setTimeout(resolve, 0)))
        )
      )
      assert.deepStrictEqual(dialogs, [])
      assert.deepStrictEqual(errors, [])
      assert.deepStrictEqual(yield* Effect.promise(violations), [])
    }))

  it.live("under APM_HTTP_TOKEN asks for the token, says a wrong one is wrong, then works", () =>
    Effect.gen(function*() {
      const token = "browser-test-token"
      const context = yield* Layer.build(liveStack(Option.some(token)))
      const url = yield* Effect.provide(baseUrl, context)
      yield* Effect.sleep("2 millis").pipe(Apm.trace("checkout", "business_transaction"), Effect.provide(context))
      const { page, errors } = yield* open(yield* browser, `${url}/`)
      const urls: Array<string> = []
      const authorizations = new Set<string>()
      page.on("request", (r) => {
        urls.push(r.url())
        const header = r.headers()["authorization"]
        if (header !== undefined) authorizations.add(header)
      })
      yield* Effect.tryPromise(() => page.locator("#login").waitFor({ state: "visible", timeout: 10_000 }))
      yield* Effect.tryPromise(() => page.fill("#token", "not-the-token"))
      yield* Effect.tryPromise(() => page.click("#login button"))
      yield* Effect.tryPromise(() =>
        page.locator("#login-error", { hasText: "Wrong token" }).waitFor({ state: "visible", timeout: 10_000 })
      )
      assert.include(yield* Effect.promise(() => text(page, "#status")), "refused")
      yield* Effect.tryPromise(() => page.fill("#token", token))
      yield* Effect.tryPromise(() => page.click("#login button"))
      yield* Effect.tryPromise(() =>
        page.locator("#operations tr", { hasText: "checkout" }).waitFor({ timeout: 10_000 })
      )
      assert.isTrue(yield* Effect.promise(() => page.locator("#login").isHidden()))
      assert.include(yield* Effect.promise(() => text(page, "#status")), "live")
      // sent as a header, never in a URL; a reload in the same tab does not ask again
      assert.isTrue(authorizations.has(`Bearer ${token}`))
      for (const u of urls) assert.notInclude(u, token)
      yield* Effect.tryPromise(() => page.reload())
      yield* Effect.tryPromise(() =>
        page.locator("#operations tr", { hasText: "checkout" }).waitFor({ timeout: 10_000 })
      )
      assert.isTrue(yield* Effect.promise(() => page.locator("#login").isHidden()))
      assert.deepStrictEqual(errors, [])
    }))

  it.live("says when the service cannot be reached, and recovers by itself when it is back", () =>
    Effect.gen(function*() {
      const first = yield* Scope.make()
      const context = yield* Layer.buildWithScope(liveStack(Option.none()), first)
      const url = yield* Effect.provide(baseUrl, context)
      yield* Effect.sleep("2 millis").pipe(Apm.trace("before_restart", "custom_operation"), Effect.provide(context))
      const { page, errors } = yield* open(yield* browser, `${url}/`)
      yield* Effect.tryPromise(() =>
        page.locator("#operations tr", { hasText: "before_restart" }).waitFor({ timeout: 10_000 })
      )
      yield* Scope.close(first, Exit.void)
      yield* Effect.tryPromise(() =>
        page.locator("#status.down", { hasText: "cannot reach the service" }).waitFor({ timeout: 10_000 })
      )
      // what was shown stays on the page meanwhile
      assert.include(yield* Effect.promise(() => text(page, "#operations")), "before_restart")
      const again = yield* Layer.build(liveStack(Option.none(), Number(new URL(url).port)))
      yield* Effect.sleep("2 millis").pipe(Apm.trace("after_restart", "custom_operation"), Effect.provide(again))
      yield* Effect.tryPromise(() =>
        page.locator("#operations tr", { hasText: "after_restart" }).waitFor({ timeout: 10_000 })
      )
      assert.include(yield* Effect.promise(() => text(page, "#status")), "live")
      assert.deepStrictEqual(errors, [])
    }))
})
