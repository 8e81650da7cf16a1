import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit } from "effect"
import fc from "fast-check"
import { Apm, Redaction } from "../src/index.ts"
import { ApmRecorder, ApmTest } from "../src/testing/index.ts"

const secret = fc.stringMatching(/^[A-Za-z0-9_~-]{12,32}$/)
const secretName = fc.constantFrom(
  "password",
  "db_password",
  "clientSecret",
  "access_token",
  "idToken",
  "x-api-key",
  "apiKey",
  "private_key",
  "session",
  "sessionId",
  "user.session.id",
  "authorization",
  "http.request.header.authorization",
  "http.request.header.cookie",
  "http.response.header.set-cookie"
)

describe("Redaction", () => {
  it("names: credential headers and password, secret, token, key and session names; not names about tokens", () => {
    for (const name of ["authorization", "Cookie", "set-cookie", "x-api-key", "password", "my_secret", "apiKey"]) {
      assert.isTrue(Redaction.isSecretName(name), name)
    }
    for (const name of ["session.id", "sessionId", "refresh_token", "http.request.header.x-api-key"]) {
      assert.isTrue(Redaction.isSecretName(name), name)
    }
    const notSecret = [
      "gen_ai.token.type",
      "gen_ai.usage.input_tokens",
      "token_type",
      "cache_key",
      "idempotency_key",
      "url.path",
      "user.id",
      "http.route"
    ]
    for (const name of notSecret) assert.isFalse(Redaction.isSecretName(name), name)
  })

  it("URLs: credentials removed, listed query values and e-mail addresses redacted, the rest kept", () => {
    const url = "https://bob:hunter2@api.example.com/users/alice@example.com/files?token=abc123&page=2" +
      "&X-Amz-Signature=ff00&X-Amz-Credential=AKIA&code=777&sig=s1&signature=s2&api_key=k&session=s3#top"
    assert.strictEqual(
      Redaction.redactText(url),
      "https://api.example.com/users/[REDACTED]/files?token=[REDACTED]&page=2" +
        "&X-Amz-Signature=[REDACTED]&X-Amz-Credential=[REDACTED]&code=[REDACTED]&sig=[REDACTED]" +
        "&signature=[REDACTED]&api_key=[REDACTED]&session=[REDACTED]#top"
    )
    // url.query: no leading "?"
    assert.strictEqual(Redaction.redactText("token=abc&q=shoes"), "token=[REDACTED]&q=shoes")
    assert.strictEqual(Redaction.redactText("/users/alice%40example.com"), "/users/[REDACTED]")
    const clean = "GET /users/:id?page=2 at file:///app/src/main.ts:10:5"
    assert.strictEqual(Redaction.redactText(clean), clean)
  })

  it("messages and stack traces: URLs, JSON fields and header lines under secret names", () => {
    const stack = "TransportError: Transport error (GET https://admin:S3cr3t@db.example.com/v1?api_key=k1)\n" +
      "    at fetch (file:///app/node_modules/undici/index.js:10:3)"
    assert.strictEqual(
      Redaction.redactText(stack),
      "TransportError: Transport error (GET https://db.example.com/v1?api_key=[REDACTED])\n" +
        "    at fetch (file:///app/node_modules/undici/index.js:10:3)"
    )
    assert.strictEqual(
      Redaction.redactText(`{"user":"ada","password":"pw","nested":{"accessToken":"t"}}`),
      `{"user":"ada","password":"[REDACTED]","nested":{"accessToken":"[REDACTED]"}}`
    )
    assert.strictEqual(Redaction.redactText("Authorization: Bearer abc.def"), "Authorization: [REDACTED]")
    assert.strictEqual(
      Redaction.redactText("{ password: 'x', token_type: 'bearer' }"),
      "{ password: '[REDACTED]', token_type: 'bearer' }"
    )
  })

  it("attributes: everything under a secret name, secrets inside other strings; the same object when clean", () => {
    const clean = { "http.route": "/users/:id", count: 3 }
    assert.strictEqual(Redaction.redactAttributes(clean), clean)
    assert.deepStrictEqual(
      Redaction.redactAttributes({
        password: "pw",
        retries: 2,
        "url.full": "https://h/?token=t",
        tags: ["a", "b@c.io"]
      }),
      { password: "[REDACTED]", retries: 2, "url.full": "https://h/?token=[REDACTED]", tags: ["a", "[REDACTED]"] }
    )
  })

  it("property: a secret under a secret name never survives, in any of the places it may be written", () => {
    fc.assert(
      fc.property(secret, secretName, (value, name) => {
        const texts = [
          `https://user:${value}@api.example.com/v1/x`,
          `https://api.example.com/v1/x?page=1&${name}=${value}&q=2`,
          `failed: {"${name}":"${value}","n":1}`,
          `${name}=${value}`,
          `https://api.example.com/users/${value}@example.com/orders`
        ]
        for (const text of texts) assert.notInclude(Redaction.redactText(text), value, text)
        assert.notInclude(JSON.stringify(Redaction.redactAttributes({ [name]: value })), value)
      }),
      { seed: 20261201, numRuns: 300 }
    )
  })

  it.effect("APM_REDACT_QUERY_PARAMS adds to the defaults; a bad list fails naming the variable", () =>
    Effect.gen(function*() {
      const rules = yield* Redaction.config.pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ APM_REDACT_QUERY_PARAMS: "otp, X-Goog-*" })))
      )
      assert.strictEqual(
        Redaction.redactText("/cb?otp=1&X-Goog-Signature=2&token=3&page=4", rules),
        "/cb?otp=[REDACTED]&X-Goog-Signature=[REDACTED]&token=[REDACTED]&page=4"
      )
      const bad = yield* Effect.flip(Redaction.config.pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ APM_REDACT_QUERY_PARAMS: "otp&x=1" })))
      ))
      assert.include(bad.message, "APM_REDACT_QUERY_PARAMS")
      assert.include(bad.message, "comma-separated list of query parameter names")
    }))

  it.effect("Apm.trace: attributes, span names and error messages are recorded redacted; the error passes unchanged", () =>
    Effect.gen(function*() {
      const error = new Error("GET https://admin:hunter2@db.example.com/?token=t0k3n failed for bob@example.com")
      const exit = yield* Effect.exit(
        Apm.trace(Effect.fail(error), "call https://x/?token=n4me", "external_api", {
          password: "hunter2",
          "url.full": "https://h/?api_key=k3y&page=1"
        })
      )
      assert.isTrue(
        Exit.isFailure(exit) && Exit.findErrorOption(exit).pipe((o) => o._tag === "Some" && o.value === error)
      )
      const [record] = yield* ApmRecorder.operations
      assert.deepStrictEqual(record!.attributes, {
        password: "[REDACTED]",
        "url.full": "https://h/?api_key=[REDACTED]&page=1"
      })
      assert.strictEqual(record!.errorMessage, "GET https://db.example.com/?token=[REDACTED] failed for [REDACTED]")
      const [span] = yield* ApmRecorder.spans
      assert.strictEqual(span!.name, "call https://x/?token=[REDACTED]")
      assert.strictEqual(span!.attributes["password"], "[REDACTED]")
      const failedWith = yield* Effect.exit(
        Apm.trace(Effect.fail({ password: "pw", code: 7 }), "op", "custom_operation")
      )
      assert.isTrue(Exit.isFailure(failedWith))
      const second = (yield* ApmRecorder.operations)[1]!
      assert.strictEqual(second.errorMessage, `{"password":"[REDACTED]","code":7}`)
    }).pipe(Effect.provide(ApmTest.layer())))

  it.effect("CurrentRules decides what Apm.trace redacts", () =>
    Effect.gen(function*() {
      yield* Apm.trace(Effect.void, "op", "custom_operation", { "url.full": "https://h/?otp=123456" })
      const [record] = yield* ApmRecorder.operations
      assert.strictEqual(record!.attributes["url.full"], "https://h/?otp=[REDACTED]")
    }).pipe(Effect.provideService(Redaction.CurrentRules, Redaction.make(["otp"])), Effect.provide(ApmTest.layer())))
})
