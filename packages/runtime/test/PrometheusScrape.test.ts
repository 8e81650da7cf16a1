/**
 * A real Prometheus server (Debian's package, which CI installs) scrapes
 * ApmLive's /metrics on 127.0.0.1, guarded by APM_HTTP_TOKEN (Prometheus
 * sends it as a bearer token, and takes the exposition gzipped), and loads
 * the generated rules: what a fleet deployment does, end to end.
 */
import { assert, describe, it } from "@effect/vitest"
import { Apm, ApmConfig } from "@mcp-apm/core"
import { Duration, Effect, Metric, Option, Redacted, Schedule } from "effect"
import { spawn } from "node:child_process"
import { existsSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { ApmLiveStack, RuntimeConfig } from "../src/index.ts"
import { baseUrl, temporaryDirectory } from "./support/live.ts"

const prometheus = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find(existsSync)
const rules = ["recording.yml", "alerts.yml"].map((file) =>
  join(import.meta.dirname, "../../../monitoring/prometheus", file)
)

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const getJson = (url: string) =>
  Effect.tryPromise(async () => {
    const response = await fetch(url)
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`)
    return (await response.json()) as { data: any }
  })

/** Retries `effect` every 250 ms for up to 40 s: Prometheus scrapes and evaluates on its own clock. */
const eventually = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.retry(effect, { schedule: Schedule.spaced("250 millis"), times: 160 })

const dir = temporaryDirectory("apm-prometheus")
const token = "prometheus-scrape-token"
const live = ApmLiveStack.make(
  ApmConfig.ApmConfig.layer(),
  RuntimeConfig.layer({
    host: "127.0.0.1",
    port: 0,
    serviceName: "apm-prometheus-test",
    baselineFile: join(dir, "baselines.json"),
    profileDirectory: Option.none(),
    httpToken: Option.some(Redacted.make(token)),
    shutdownTimeout: Duration.seconds(3)
  })
)

describe("Prometheus", () => {
  it.live.skipIf(prometheus === undefined && process.env["CI"] === undefined)(
    "scrapes /metrics and evaluates the generated rules",
    () =>
      Effect.gen(function*() {
        assert.isDefined(prometheus, "prometheus (Debian package) is needed in CI")
        yield* Effect.forEach([1, 2, 3], () => Apm.trace(Effect.sleep(2), "scraped_op", "http_request"), {
          discard: true
        })
        const target = (yield* baseUrl).replace("http://", "")
        const port = yield* Effect.promise(freePort)
        const config = join(dir, "prometheus.yml")
        writeFileSync(
          config,
          JSON.stringify({
            global: { scrape_interval: "1s", evaluation_interval: "1s" },
            rule_files: rules,
            scrape_configs: [{
              job_name: "mcp-apm",
              authorization: { type: "Bearer", credentials: token },
              static_configs: [{ targets: [target] }]
            }]
          })
        )
        yield* Effect.acquireRelease(
          Effect.sync(() =>
            spawn(prometheus!, [
              `--config.file=${config}`,
              `--storage.tsdb.path=${join(dir, "data")}`,
              `--web.listen-address=127.0.0.1:${port}`
            ], { stdio: "ignore" })
          ),
          (child) => Effect.sync(() => child.kill("SIGKILL"))
        )
        const api = `http://127.0.0.1:${port}/api/v1`
        const query = (q: string) => getJson(`${api}/query?query=${encodeURIComponent(q)}`)

        const scraped = yield* eventually(
          query(`apm_operations_total{operation_name="scraped_op"}`).pipe(
            Effect.filterOrFail((r) => r.data.result.length > 0, () => new Error("not scraped yet"))
          )
        )
        assert.strictEqual(scraped.data.result[0].value[1], "3")
        assert.strictEqual(scraped.data.result[0].metric.operation_type, "http_request")
        const up = yield* query(`up{job="mcp-apm"}`)
        assert.strictEqual(up.data.result[0].value[1], "1")

        const groups = yield* eventually(
          getJson(`${api}/rules`).pipe(
            Effect.map((r) => r.data.groups as Array<{ rules: Array<{ health: string; lastEvaluation: string }> }>),
            Effect.filterOrFail(
              (gs) => gs.length > 0 && gs.every((g) => g.rules.every((r) => !r.lastEvaluation.startsWith("0001"))),
              () => new Error("rules not evaluated yet")
            )
          )
        )
        for (const group of groups) for (const rule of group.rules) assert.strictEqual(rule.health, "ok")
      }).pipe(Effect.provide(live), Effect.provideService(Metric.MetricRegistry, new Map())),
    60_000
  )
})
