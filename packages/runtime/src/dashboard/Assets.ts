/**
 * The dashboard's static files: its page, script and stylesheet (beside
 * this module, in `page/`) and uPlot, the charting library, from the
 * installed `uplot` package. All are read once at start-up and served by
 * ApmLive itself: no CDN, no other origin. None holds data, so none needs
 * the token: the script asks for it.
 *
 * The page carries no inline script or style, so the Content-Security-Policy
 * allows scripts and stylesheets from this origin only.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const page = (name: string) => readFileSync(new URL(`page/${name}`, import.meta.url), "utf8")
const uplot = (name: string) => readFileSync(require.resolve(`uplot/dist/${name}`), "utf8")

/**
 * The policy of every dashboard response. uPlot sizes its elements through
 * the CSSOM (`element.style`), which `style-src 'self'` allows.
 *
 * @category constants
 * @since 0.1.0
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"

/**
 * The page's path.
 *
 * @category constants
 * @since 0.1.0
 */
export const pagePath = "/"

const files: ReadonlyArray<readonly [path: HttpRouter.PathInput, body: string, contentType: string]> = [
  [pagePath, page("index.html"), "text/html; charset=utf-8"],
  ["/assets/dashboard.js", page("dashboard.js"), "text/javascript; charset=utf-8"],
  ["/assets/dashboard.css", page("dashboard.css"), "text/css; charset=utf-8"],
  ["/assets/icon.svg", page("icon.svg"), "image/svg+xml"],
  ["/assets/uPlot.iife.min.js", uplot("uPlot.iife.min.js"), "text/javascript; charset=utf-8"],
  ["/assets/uPlot.min.css", uplot("uPlot.min.css"), "text/css; charset=utf-8"]
]

/**
 * The paths of the static files.
 *
 * @category constants
 * @since 0.1.0
 */
export const paths: ReadonlyArray<string> = files.map(([path]) => path)

/**
 * The routes of the static files.
 *
 * @category layers
 * @since 0.1.0
 */
export const routes = HttpRouter.use(Effect.fnUntraced(function*(router) {
  for (const [path, body, contentType] of files) {
    yield* router.add(
      "GET",
      path,
      HttpServerResponse.text(body, { contentType, headers: { "content-security-policy": contentSecurityPolicy } })
    )
  }
}))
