import { assert, describe, it } from "@effect/vitest"
import { ModelRouterApm } from "@mcp-apm/services"
import { Effect, Layer, Metric } from "effect"
import { HttpServer } from "effect/http"
import { NetAddress } from "effect/net"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { McpServicesLive } from "../src/index.ts"

describe("McpServicesLive", () => {
  it.live("serves the five services' metrics from one ApmLive configured by the environment", () =>
    Effect.gen(function*() {
      process.env["APM_HTTP_PORT"] = "0"
      process.env["APM_BASELINE_FILE"] = join(mkdtempSync(join(tmpdir(), "apm-services-")), "baselines.json")
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          delete process.env["APM_HTTP_PORT"]
          delete process.env["APM_BASELINE_FILE"]
        })
      )
      const text = yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(McpServicesLive)
        return yield* Effect.gen(function*() {
          const router = yield* ModelRouterApm.ModelRouterApm
          yield* router.traceModelRequest(
            router.recordTokenUsage({ inputTokens: 10, outputTokens: 5 }),
            "claude-3-sonnet",
            "generate"
          )
          const server = yield* HttpServer.HttpServer
          const response = yield* Effect.promise(() => fetch(`${NetAddress.formatUrlUnsafe(server.address)}/metrics`))
          return yield* Effect.promise(() => response.text())
        }).pipe(Effect.provideContext(context))
      }))
      assert.match(text, /model_router_model_requests_total\{[^}]*model="claude-3-sonnet"[^}]*\} 1/)
      assert.match(
        text,
        /apm_operations_total\{operation_name="text_completion claude-3-sonnet",operation_type="model_request"\} 1/
      )
      assert.include(text, "# HELP model_router_token_usage_total")
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})
