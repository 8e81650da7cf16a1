import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger } from "effect"
import { TestConsole } from "effect/testing"
import { Logging } from "../src/index.ts"

/** Logs a warning inside a span and a line outside any; the console lines and the span's ids. */
const logInAndOutOfASpan = (logger: Logger.Logger<unknown, void>) =>
  Effect.gen(function*() {
    const span = yield* Effect.gen(function*() {
      yield* Effect.logWarning("plan storage write failed").pipe(Effect.annotateLogs({ "plan.id": "plan-7" }))
      return yield* Effect.currentSpan
    }).pipe(Effect.withSpan("plan_storage_save"))
    yield* Effect.log("outside any span")
    const lines = (yield* TestConsole.logLines).map(String)
    return { lines, traceId: span.traceId, spanId: span.spanId }
  }).pipe(Effect.provide(Logger.layer([logger])))

describe("Logging", () => {
  it.effect("json: one object a line, OpenTelemetry field names, the span's trace context", () =>
    Effect.gen(function*() {
      const { lines, spanId, traceId } = yield* logInAndOutOfASpan(Logging.make("json"))
      assert.strictEqual(lines.length, 2)
      const inside = JSON.parse(lines[0]!)
      assert.deepStrictEqual(Object.keys(inside), [
        "timestamp",
        "severity_text",
        "severity_number",
        "body",
        "trace_id",
        "span_id",
        "trace_flags",
        "attributes"
      ])
      assert.deepStrictEqual(
        { ...inside, timestamp: undefined },
        {
          timestamp: undefined,
          severity_text: "WARN",
          severity_number: 13,
          body: "plan storage write failed",
          trace_id: traceId,
          span_id: spanId,
          trace_flags: "01",
          attributes: { "plan.id": "plan-7" }
        }
      )
      assert.strictEqual(new Date(inside.timestamp).toISOString(), inside.timestamp)
      const outside = JSON.parse(lines[1]!)
      assert.strictEqual(outside.severity_text, "INFO")
      assert.strictEqual(outside.severity_number, 9)
      assert.isUndefined(outside.trace_id)
      assert.isUndefined(outside.span_id)
    }))

  it.effect("json: a failure's cause becomes exception.type, exception.message and exception.stacktrace", () =>
    Effect.gen(function*() {
      yield* Effect.fail(new TypeError("no such plan")).pipe(
        Effect.catchCause((cause) => Effect.logError("write failed", cause)),
        Effect.provide(Logger.layer([Logging.make("json")]))
      )
      const lines = yield* TestConsole.logLines
      assert.strictEqual(lines.length, 1)
      const withCause = JSON.parse(String(lines[0]))
      assert.strictEqual(withCause.body, "write failed")
      assert.strictEqual(withCause.severity_number, 17)
      assert.strictEqual(withCause.attributes["exception.type"], "TypeError")
      assert.strictEqual(withCause.attributes["exception.message"], "no such plan")
      assert.include(withCause.attributes["exception.stacktrace"], "TypeError: no such plan")
    }))

  it.effect("logfmt: trace_id and span_id beside the annotations inside a span, none outside", () =>
    Effect.gen(function*() {
      const { lines, spanId, traceId } = yield* logInAndOutOfASpan(Logging.make("logfmt"))
      assert.strictEqual(lines.length, 2)
      assert.include(lines[0]!, "level=WARN")
      assert.include(lines[0]!, `message="plan storage write failed"`)
      assert.include(lines[0]!, `plan.id=plan-7`)
      assert.include(lines[0]!, `trace_id=${traceId}`)
      assert.include(lines[0]!, `span_id=${spanId}`)
      assert.notInclude(lines[1]!, "trace_id")
      assert.notInclude(lines[1]!, "span_id")
    }))

  it.effect("pretty: the ids among the annotations inside a span, none outside", () =>
    Effect.gen(function*() {
      const { lines, spanId, traceId } = yield* logInAndOutOfASpan(Logging.make("pretty"))
      const [inside, outside] = [lines.slice(0, -1).join("\n"), lines.at(-1)!]
      assert.include(inside, "plan storage write failed")
      assert.include(inside, traceId)
      assert.include(inside, spanId)
      assert.include(outside, "outside any span")
      assert.notInclude(outside, "trace_id")
    }))

  for (const format of Logging.formats) {
    it.effect(`${format}: no secret reaches a line, in the message, an annotation or a failure`, () =>
      Effect.gen(function*() {
        const secrets = ["hunter2-password", "tok-5ecret", "sig-abcdef", "alice@example.com"]
        yield* Effect.fail(new Error(`login failed for https://bob:hunter2-password@api.example.com/?token=tok-5ecret`))
          .pipe(
            Effect.catchCause((cause) =>
              Effect.logWarning("GET https://api.example.com/x?sig=sig-abcdef&user=alice@example.com", cause)
            ),
            Effect.annotateLogs({ password: "hunter2-password", "http.request.header.authorization": "tok-5ecret" }),
            Effect.withSpan("login"),
            Effect.provide(Logger.layer([Logging.make(format)]))
          )
        // pretty writes a line per part (message, annotations, cause); the others one line.
        const output = (yield* TestConsole.logLines).map(String).join("\n")
        for (const secret of secrets) assert.notInclude(output, secret, `${format}: ${secret}`)
        assert.include(output, "[REDACTED]")
        assert.include(output, "login failed")
      }))
  }

  it.effect("layer: APM_LOG_FORMAT picks the format, replaces Effect's default logger, keeps the application's", () =>
    Effect.gen(function*() {
      const own: Array<unknown> = []
      const mine = Logger.make(({ message }) => void own.push(message))
      yield* Effect.log("hello").pipe(
        Effect.provide(Logging.layer.pipe(
          Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { APM_LOG_FORMAT: "json" } }))),
          Layer.provide(Logger.layer([Logger.defaultLogger, mine]))
        ))
      )
      const lines = (yield* TestConsole.logLines).map(String)
      assert.strictEqual(lines.length, 1)
      assert.strictEqual(JSON.parse(lines[0]!).body, "hello")
      assert.deepStrictEqual(own, [["hello"]])
    }))

  it.effect("layer: a format other than pretty, json or logfmt fails, naming APM_LOG_FORMAT", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(Logging.layer.pipe(
        Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { APM_LOG_FORMAT: "xml" } })))
      )))
      assert.include(error.message, "APM_LOG_FORMAT")
    }))
})
