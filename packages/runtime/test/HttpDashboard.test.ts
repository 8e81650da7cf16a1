/**
 * The dashboard page under a token: its own script, as served, runs against
 * the real server with a stand-in DOM and sessionStorage (no browser). It
 * asks for the token once, keeps it in sessionStorage, sends it as an
 * Authorization header and never in a URL, and asks again when the token
 * is refused.
 */
import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { Effect, Metric, Option, Redacted } from "effect"
import { createHash } from "node:crypto"
import { runInNewContext } from "node:vm"
import { guardedServer, port } from "./support/http.ts"

const token = "dashboard-token"

interface FakeElement {
  textContent: string
  className: string
  hidden: boolean
  value: string
  children: Array<FakeElement>
  listeners: Record<string, (event: unknown) => void>
  appendChild(child: FakeElement): void
  replaceChildren(...children: Array<FakeElement>): void
  addEventListener(type: string, listener: (event: unknown) => void): void
  focus(): void
}

const element = (): FakeElement => ({
  textContent: "",
  className: "",
  hidden: false,
  value: "",
  children: [],
  listeners: {},
  appendChild(child) {
    this.children.push(child)
  },
  replaceChildren(...children) {
    this.children = children
  },
  addEventListener(type, listener) {
    this.listeners[type] = listener
  },
  focus() {}
})

/**
 * Runs the page's script in a fresh context, the login form hidden as the
 * HTML has it; `fetch` goes to the real server and is recorded.
 */
const runPage = (base: string, script: string, stored: Record<string, string> = {}) => {
  const elements = new Map<string, FakeElement>([["login", { ...element(), hidden: true }]])
  const storage = new Map(Object.entries(stored))
  const requests: Array<{ url: string; authorization: string | undefined }> = []
  const document = {
    getElementById: (id: string) => {
      if (!elements.has(id)) elements.set(id, element())
      return elements.get(id)!
    },
    createElement: () => element()
  }
  const sessionStorage = {
    getItem: (key: string) => storage.get(key) ?? null,
    setItem: (key: string, value: string) => void storage.set(key, String(value)),
    removeItem: (key: string) => void storage.delete(key)
  }
  const fetchRecorded = (url: string, init: { headers?: Record<string, string> }) => {
    requests.push({ url, authorization: init.headers?.["authorization"] })
    return fetch(base + url, init)
  }
  runInNewContext(script, { document, sessionStorage, fetch: fetchRecorded, setInterval: () => 0 })
  return { elements: document.getElementById, storage, requests }
}

/** Waits (bounded) until the page's asynchronous refresh has shown what `ready` looks for. */
const until = (ready: () => boolean) =>
  Effect.promise(async () => {
    for (let i = 0; i < 200 && !ready(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    return ready()
  })

const served = Effect.gen(function*() {
  const base = `http://127.0.0.1:${yield* port}`
  const page = yield* Effect.promise(() => fetch(base + "/"))
  const html = yield* Effect.promise(() => page.text())
  const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!
  return { base, html, script, csp: page.headers.get("content-security-policy") ?? "" }
})

describe("HttpDashboard", () => {
  it.live("asks for the token once, keeps it in sessionStorage and sends it as a header, never in the URL", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.void, "dashboard_op", "custom_operation")
      const { base, html, script, csp } = yield* served
      // the script that runs is the one the policy allows, and no form can send the token anywhere
      const hash = createHash("sha256").update(script).digest("base64")
      assert.include(csp, `script-src 'sha256-${hash}'`)
      assert.include(csp, "form-action 'none'")
      assert.notMatch(html, /<input[^>]*\bname=/)
      assert.include(html, `<form id="login" hidden>`)

      const page = runPage(base, script)
      const login = page.elements("login")
      assert.isTrue(yield* until(() => !login.hidden))
      assert.include(page.elements("login-message").textContent, "APM_HTTP_TOKEN")
      assert.deepStrictEqual(page.requests, [{ url: "/api/apm", authorization: undefined }])

      page.elements("token").value = token
      login.listeners["submit"]!({ preventDefault: () => {} })
      assert.strictEqual(page.storage.get("mcp-apm-token"), token)
      assert.isTrue(login.hidden)
      const operations = page.elements("operations")
      assert.isTrue(yield* until(() => operations.children.length === 1))
      assert.strictEqual(operations.children[0]!.children[0]!.textContent, "dashboard_op")
      assert.match(page.elements("status").textContent, /^updated /)
      assert.deepStrictEqual(page.requests[1], { url: "/api/apm", authorization: `Bearer ${token}` })
      for (const request of page.requests) assert.notInclude(request.url, token)

      // a reload in the same tab finds the token and does not ask again
      const reloaded = runPage(base, script, { "mcp-apm-token": token })
      assert.isTrue(yield* until(() => reloaded.elements("operations").children.length === 1))
      assert.isTrue(reloaded.elements("login").hidden)
      assert.deepStrictEqual(reloaded.requests, [{ url: "/api/apm", authorization: `Bearer ${token}` }])
    }).pipe(
      Effect.provide(guardedServer({ token: Option.some(Redacted.make(token)) })),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.live("a stored token that is refused is forgotten and asked for again", () =>
    Effect.gen(function*() {
      const { base, script } = yield* served
      const page = runPage(base, script)
      const login = page.elements("login")
      assert.isTrue(yield* until(() => !login.hidden))
      page.elements("token").value = "not-the-token"
      login.listeners["submit"]!({ preventDefault: () => {} })
      assert.isTrue(yield* until(() => !login.hidden && page.requests.length === 2))
      assert.include(page.elements("login-message").textContent, "refused")
      assert.isFalse(page.storage.has("mcp-apm-token"))
      assert.strictEqual(page.requests[1]!.authorization, "Bearer not-the-token")
    }).pipe(
      Effect.provide(guardedServer({ token: Option.some(Redacted.make(token)) })),
      Effect.provideService(Metric.MetricRegistry, new Map())
    ))

  it.live("without a token configured the page never asks", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.void, "open_op", "custom_operation")
      const { base, script } = yield* served
      const page = runPage(base, script)
      const operations = page.elements("operations")
      assert.isTrue(yield* until(() => operations.children.length === 1))
      assert.isTrue(page.elements("login").hidden)
      assert.deepStrictEqual(page.requests, [{ url: "/api/apm", authorization: undefined }])
    }).pipe(Effect.provide(guardedServer()), Effect.provideService(Metric.MetricRegistry, new Map())))
})
