/**
 * The shipped monitoring against the real thing: Debian's Prometheus server
 * (bound to 127.0.0.1, a temporary data directory, 1 s scrape and
 * evaluation intervals) scrapes two `mcp-apm demo` processes, one running
 * into its scheduled fault and one that stays healthy for the whole test,
 * and evaluates the generated rules, their windows and `for:` shrunk by the
 * generator's own `timeScale`. The anomaly alert must reach `firing` for
 * the faulted instance's slowed model requests and nothing about the
 * fault's operations may fire for the healthy one; every metric and label
 * the dashboards and rules name must be
 * in the demo's `/metrics`, and Prometheus must accept every query.
 */
import { assert, layer } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { ruleFiles } from "../src/monitoring/files.ts"
import * as RuleOptions from "../src/monitoring/RuleOptions.ts"
import {
  dashboardExpressions,
  dashboardLegends,
  references,
  ruleExpressions,
  rules,
  templateLabels,
  variableQueries
} from "./support/monitoringQueries.ts"

const prometheusBinary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].find(existsSync)
const bin = join(import.meta.dirname, "../src/bin/mcp-apm.ts")
/** Every window and for: divided by 60: the 10m anomaly window is 10s, its 1m for: 1s. */
const options = RuleOptions.make({ timeScale: 1 / 60 })
/**
 * The fault starts at 40 % of `--duration`: at 14 s of 36, when Prometheus has scraped the
 * instance for longer than the 10 s anomaly window (the alert counts a new counter series only
 * on an instance it already knew a window ago).
 */
const faultedDuration = 36

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

/** Resolves with the port of the `http://127.0.0.1:<port>/metrics` line the demo prints once it serves. */
const metricsPort = (child: ChildProcess, name: string) =>
  new Promise<number>((resolve, reject) => {
    let out = ""
    let err = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const match = /http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(out)
      if (match !== null) resolve(Number(match[1]))
    })
    child.stderr!.on("data", (chunk: Buffer) => (err += chunk.toString()))
    child.on("exit", (code) => reject(new Error(`demo ${name} exited (${code}) before serving:\n${out}\n${err}`)))
  })

const stop = (child: ChildProcess) =>
  Effect.sync(() => {
    if (child.exitCode === null) child.kill("SIGKILL")
  })

/** The demos guard their endpoints as a deployment would; Prometheus scrapes with the token. */
const token = "prometheus-server-test-token"
const authorization = { type: "Bearer", credentials: token }
const withToken = { headers: { authorization: `Bearer ${token}` } }

/** A demo process on a free port of its own (`--port 0`), which it prints once it serves. */
const demo = (name: string, flags: ReadonlyArray<string>, dir: string) =>
  Effect.gen(function*() {
    const env: Record<string, string | undefined> = {
      ...process.env,
      APM_HTTP_TOKEN: token,
      APM_BASELINE_FILE: join(dir, `${name}-baselines.json`),
      OTEL_SERVICE_NAME: `mcp-apm-${name}`
    }
    delete env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    delete env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        // simulated git: real git on a starved machine burns the latency SLO of worktree adds, which is not what this checks
        spawn(process.execPath, [bin, "demo", "--port", "0", "--seed", "1", "--git", "simulated", ...flags], {
          env,
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      stop
    )
    const served = yield* Effect.promise(() => metricsPort(child, name)).pipe(Effect.timeout("30 seconds"))
    return `127.0.0.1:${served}`
  })

const getJson = (url: string) =>
  Effect.tryPromise(async () => {
    const response = await fetch(url)
    const body = (await response.json()) as { status: string; data: any; error?: string }
    return { ok: response.ok, ...body }
  })

/** Prometheus scrapes and evaluates on its own clock: retried every 250 ms, for up to 60 s. */
const eventually = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.retry(effect, { schedule: Schedule.spaced("250 millis"), times: 240 })

class Fleet extends Context.Service<Fleet, {
  readonly faulted: string
  readonly healthy: string
  readonly api: string
}>()("test/PrometheusServer/Fleet") {
  static readonly layer = Layer.effect(
    Fleet,
    Effect.gen(function*() {
      if (prometheusBinary === undefined) {
        return yield* Effect.die(new Error("prometheus (Debian package prometheus) is needed: CI installs it"))
      }
      const dir = mkdtempSync(join(tmpdir(), "apm-prometheus-server-"))
      const [faulted, healthy] = yield* Effect.all([
        demo("faulted", ["--duration", String(faultedDuration)], dir),
        demo("healthy", ["--duration", "600", "--faults", "none"], dir)
      ], { concurrency: 2 })
      const files = ruleFiles(options)
      for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
      const config = join(dir, "prometheus.yml")
      writeFileSync(
        config,
        JSON.stringify({
          global: { scrape_interval: "1s", evaluation_interval: "1s" },
          rule_files: Object.keys(files).map((name) => join(dir, name)),
          scrape_configs: [
            { job_name: "faulted", authorization, static_configs: [{ targets: [faulted] }] },
            { job_name: "healthy", authorization, static_configs: [{ targets: [healthy] }] }
          ]
        })
      )
      const port = yield* Effect.promise(freePort)
      yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(prometheusBinary, [
            `--config.file=${config}`,
            `--storage.tsdb.path=${join(dir, "data")}`,
            `--web.listen-address=127.0.0.1:${port}`
          ], { stdio: "ignore" })
        ),
        stop
      )
      const api = `http://127.0.0.1:${port}/api/v1`
      yield* eventually(
        Effect.tryPromise(() => fetch(`http://127.0.0.1:${port}/-/ready`)).pipe(
          Effect.filterOrFail((r) => r.ok, () => new Error("Prometheus not ready"))
        )
      )
      return Fleet.of({ faulted, healthy, api })
    })
  )
}

interface Alert {
  readonly labels: Record<string, string>
  readonly state: "pending" | "firing"
}

/** The operations the demo's fault hits: model requests four times slower, plan storage failing half the time. */
const faultedOperation = /^text_completion |^plan_management\.storage\.save$/

/** Alerts about the machine the two instances share (its CPU, its memory) say nothing about an instance. */
const machineAlerts = "ApmHighCpuUsage|ApmHighMemoryUsage"

layer(Fleet.layer, { excludeTestServices: true, timeout: Duration.seconds(60) })("Prometheus server", (it) => {
  it.effect(
    "raises the anomaly alert for the faulted instance's slow model requests, and nothing about them for the healthy one",
    () =>
      Effect.gen(function*() {
        const { api, faulted, healthy } = yield* Fleet
        const firing = yield* eventually(
          getJson(`${api}/alerts`).pipe(
            Effect.map((r) =>
              (r.data.alerts as Array<Alert>).filter((a) =>
                a.labels["alertname"] === "ApmAnomalyRaised" && a.state === "firing" && a.labels["job"] === "faulted" &&
                faultedOperation.test(a.labels["operation_name"]!)
              )
            ),
            Effect.filterOrFail((alerts) => alerts.length > 0, () =>
              new Error("no anomaly alert firing for the fault yet"))
          )
        )
        for (const alert of firing) {
          assert.include(["ERROR", "CRITICAL"], alert.labels["anomaly_severity"])
          assert.strictEqual(alert.labels["severity"], "warning")
          assert.strictEqual(alert.labels["instance"], faulted)
        }
        // Everything the healthy job ever had pending or firing since Prometheus started, but
        // the machine's alerts. On a starved machine (2 cores under a whole test suite) the
        // healthy instance's own detector can flag the scheduling jitter of a 2 ms operation: an
        // alert for a record it raised itself is the rules working. None may be about the
        // operations the fault hit, and none may be of another kind.
        const healthyAlerts = (yield* getJson(
          `${api}/query?query=${
            encodeURIComponent(`max_over_time(ALERTS{job="healthy",alertname!~"${machineAlerts}"}[5m])`)
          }`
        )).data.result.map((r: { metric: Record<string, string> }) =>
          r.metric
        ) as Array<Record<string, string>>
        const ownRecords = yield* Effect.tryPromise(() =>
          fetch(`http://${healthy}/metrics`, withToken).then((r) => r.text())
        )
        for (const alert of healthyAlerts) {
          assert.strictEqual(alert["alertname"], "ApmAnomalyRaised", JSON.stringify(alert))
          assert.notMatch(alert["operation_name"]!, faultedOperation, JSON.stringify(alert))
          assert.include(
            ownRecords,
            `apm_anomalies_total{operation_name="${alert["operation_name"]}",operation_type="${
              alert["operation_type"]
            }",severity="${alert["anomaly_severity"]}"}`,
            JSON.stringify(alert)
          )
        }
        const groups = (yield* getJson(`${api}/rules`)).data.groups as Array<
          { rules: Array<{ name: string; health: string; lastError?: string }> }
        >
        assert.strictEqual(groups.flatMap((g) => g.rules).length, rules(options).length)
        for (const rule of groups.flatMap((g) => g.rules)) {
          assert.strictEqual(rule.health, "ok", `${rule.name}: ${rule.lastError}`)
        }
      }),
    { timeout: 60_000 }
  )

  it.effect(
    "every metric, label and label value the dashboards and rules use is in the demo's /metrics",
    () =>
      Effect.gen(function*() {
        const { faulted } = yield* Fleet
        // The anomaly counter exists once the fault has raised one.
        const text = yield* eventually(
          Effect.tryPromise(() => fetch(`http://${faulted}/metrics`, withToken).then((r) => r.text())).pipe(
            Effect.filterOrFail((t) => /^apm_anomalies_total\{.*severity="CRITICAL"/m.test(t), () =>
              new Error("no anomaly yet"))
          )
        )
        // Read line by line: parse-prometheus-text-format folds a histogram's label sets into one.
        const exported = new Map<string, Map<string, Set<string>>>()
        for (
          const line of text.split("\n").filter((l) =>
            l !== "" && !l.startsWith("#")
          )
        ) {
          const [, name, body] = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s/.exec(line)!
          const labels = exported.get(name!) ?? new Map<string, Set<string>>()
          for (const [, label, value] of (body ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
            labels.set(label!, (labels.get(label!) ?? new Set()).add(value!))
          }
          exported.set(name!, labels)
        }
        const recordedNames = new Set(rules().flatMap((r) => r.record ?? []))
        const alertLabels = new Set(rules().flatMap((r) => Object.keys(r.labels ?? {})))
        const scrapeLabels = ["job", "instance"]
        const checkOne = (where: string, expr: string, extraLabels: ReadonlyArray<string>) => {
          const refs = references(expr)
          assert.isAbove(refs.metrics.size, 0, `${where}: ${expr}`)
          const allowed = new Set([...scrapeLabels, ...refs.created])
          for (const metric of refs.metrics) {
            if (metric === "ALERTS") {
              for (
                const l of [
                  "alertname",
                  "alertstate",
                  ...alertLabels,
                  "operation_name",
                  "operation_type",
                  "anomaly_severity"
                ]
              ) allowed.add(l)
            } else if (metric === "up") {
              continue
            } else if (metric.includes(":")) {
              assert.isTrue(recordedNames.has(metric), `${where}: ${metric} is not recorded by recording.yml`)
              for (const l of ["operation_name", "operation_type"]) allowed.add(l)
            } else {
              const labels = exported.get(metric)
              assert.isDefined(labels, `${where}: ${metric} is not in the demo's /metrics`)
              for (const l of labels!.keys()) allowed.add(l)
            }
          }
          for (const label of [...refs.labels, ...extraLabels]) {
            assert.isTrue(allowed.has(label), `${where}: label ${label} in ${expr}`)
          }
          for (const m of refs.matchers) {
            // An error series appears at its operation's first error (its error_type is known only then):
            // the operations it may name are those of apm_operations_total.
            const values = m.metric === "apm_errors_total" && m.label !== "error_type"
              ? exported.get("apm_operations_total")?.get(m.label)
              : exported.get(m.metric)?.get(m.label)
            if (values !== undefined) {
              assert.isTrue(
                values.has(m.value),
                `${where}: ${m.metric}{${m.label}="${m.value}"} is not in the demo's /metrics`
              )
            }
          }
        }
        for (const e of dashboardExpressions()) {
          checkOne(e.where, e.expr, [])
        }
        for (const e of dashboardLegends()) checkOne(e.where, e.expr, templateLabels(e.legend))
        assert.isAbove(variableQueries().length, 0)
        for (const v of variableQueries()) checkOne(v.where, v.expr, [v.label])
        for (const r of rules()) {
          checkOne(
            `${r.file}: ${r.record ?? r.alert}`,
            r.expr,
            Object.values(r.annotations ?? {}).flatMap(templateLabels).filter((l) => !alertLabels.has(l))
          )
        }
      }),
    { timeout: 60_000 }
  )

  it.effect("Prometheus accepts every dashboard, annotation and rule query", () =>
    Effect.gen(function*() {
      const { api } = yield* Fleet
      for (const e of [...dashboardExpressions(), ...ruleExpressions()]) {
        const response = yield* getJson(`${api}/query?query=${encodeURIComponent(e.expr)}`)
        assert.strictEqual(response.status, "success", `${e.where}: ${response.error}`)
      }
    }), { timeout: 60_000 })
})
