/**
 * The application's throughput under scrape load: a traced workload runs in
 * this process on the live stack (`ApmLive`'s layers on 127.0.0.1, port 0)
 * while, in alternate rounds, nobody or 50 concurrent scrapers (real HTTP
 * clients over keep-alive connections, in a child process as Prometheus
 * would be) fetch `/metrics` and
 * `/api/apm`: paced (each scraper scrapes both every 250 ms, 200 scrapes a
 * second in all, far more than any fleet of Prometheus servers) and back to
 * back (as fast as the scrapers can go). Prints the median ops/s of each,
 * the ratios to no scrapers, the scrape rates, and the anomalies the
 * in-process detector raised in each kind of round.
 *
 * The workload is a service's: each operation a little CPU and then 2 ms of
 * waiting on I/O, 32 at a time, so that the event loop has the headroom a
 * healthy service has; a service whose loop is already saturated loses
 * throughput to any extra work, scrapes or not.
 *
 * `node bench/scrape-load.ts`
 */
import { Apm, ApmConfig } from "@mcp-apm/core"
import { Duration, Effect, Fiber, Layer, Metric, Option } from "effect"
import { HttpServer } from "effect/http"
import { NetAddress } from "effect/net"
import { spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { createInterface } from "node:readline"
import { median } from "simple-statistics"
import { ApmLiveStack, RuntimeConfig } from "@mcp-apm/runtime"

const scrapers = 50
const workers = 32
const operationNames = Array.from({ length: 12 }, (_, i) => `bench_op_${i}`)
const rounds = 6
const roundLength = Duration.seconds(2)

// node:http with keep-alive, asking for gzip as Prometheus does and not inflating it (Prometheus does that
// on its own machine): the scrapers' CPU is not the application's. They stop by themselves after the limit,
// should the bench die without stopping them.
const scraperScript = `
const http = require("node:http")
const [base, concurrency, pauseMillis, limitMillis] = process.argv.slice(1)
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) })
let done = 0, failed = 0, ready = false
const deadline = Date.now() + Number(limitMillis)
const report = () => { process.stdout.write("done " + done + " " + failed + "\\n"); process.exit(0) }
const get = (path) => new Promise((resolve) => {
  const request = http.get(base + path, { agent, headers: { "accept-encoding": "gzip" } }, (response) => {
    response.on("data", () => {})
    response.on("end", () => resolve(response.statusCode === 200))
  })
  request.on("error", () => resolve(false))
})
async function scraper() {
  while (Date.now() < deadline) {
    for (const path of ["/metrics", "/api/apm"]) {
      if (await get(path)) done++; else failed++
      if (!ready) { ready = true; process.stdout.write("ready\\n") }
    }
    if (Number(pauseMillis) > 0) await new Promise((resolve) => setTimeout(resolve, Number(pauseMillis)))
  }
  report()
}
process.stdin.on("data", report)
for (let i = 0; i < Number(concurrency); i++) scraper()
`

/** Scrapers in a child process; resolves once they have been answered, with how to stop them. */
const startScrapers = (base: string, pauseMillis: number) =>
  Effect.callback<{ stop: Effect.Effect<{ done: number; failed: number }> }, Error>((resume) => {
    const child = spawn(process.execPath, ["-e", scraperScript, base, String(scrapers), String(pauseMillis), "60000"], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    const lines = createInterface({ input: child.stdout })
    let finished: ((counts: { done: number; failed: number }) => void) | undefined
    lines.on("line", (line) => {
      if (line === "ready") {
        resume(Effect.succeed({
          stop: Effect.callback((resumeStop) => {
            finished = (counts) => resumeStop(Effect.succeed(counts))
            child.stdin.write("stop\n")
          })
        }))
      } else if (line.startsWith("done ")) {
        const [, done, failed] = line.split(" ").map(Number)
        finished?.({ done: done!, failed: failed! })
      }
    })
    child.on("error", (error) => resume(Effect.fail(error)))
  })

// A request of a service: a little CPU on the event loop, then waiting on I/O.
const work = Effect.sync(() => {
  let x = 0
  for (let i = 0; i < 5_000; i++) x = (x * 31 + i) | 0
  return x
}).pipe(Effect.andThen(Effect.sleep("2 millis")))

// apm_anomalies_total, summed over its series: every flagged observation, however the records merge.
const anomalyCount = Effect.map(
  Metric.snapshot,
  (metrics) =>
    metrics.reduce(
      (sum, metric) =>
        metric.id === "apm_anomalies_total" ? sum + Number((metric.state as { count: number }).count) : sum,
      0
    )
)

const directory = mkdtempSync(join(tmpdir(), "apm-scrape-load-"))
const live = ApmLiveStack.make(
  ApmConfig.ApmConfig.layer(),
  RuntimeConfig.layer({
    host: "127.0.0.1",
    port: 0,
    serviceName: "scrape-load-bench",
    baselineFile: join(directory, "baselines.json"),
    profileDirectory: Option.none(),
    httpToken: Option.none(),
    shutdownTimeout: Duration.seconds(3)
  })
)

export const scrapeLoad = Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  const base = NetAddress.formatUrlUnsafe(server.address)
  let completed = 0
  const workload = yield* Effect.forEach(
    Array.from({ length: workers }, (_, i) => i),
    (i) =>
      Effect.forkChild(Effect.forever(
        Apm.trace(work, operationNames[i % operationNames.length]!, "custom_operation").pipe(
          Effect.andThen(Effect.sync(() => completed++))
        )
      ))
  )
  // Warm-up: the JIT, and enough samples for every operation's baseline before anomalies count.
  yield* Effect.sleep("3 seconds")

  const measure = Effect.gen(function*() {
    const [ops, anomalies, loop] = [completed, yield* anomalyCount, performance.eventLoopUtilization()]
    yield* Effect.sleep(roundLength)
    return {
      opsPerSecond: (completed - ops) / Duration.toSeconds(roundLength),
      anomalies: (yield* anomalyCount) - anomalies,
      loopUtilization: performance.eventLoopUtilization(loop).utilization
    }
  })

  const scraped = (pauseMillis: number) =>
    Effect.gen(function*() {
      const { stop } = yield* startScrapers(base, pauseMillis)
      const result = yield* measure
      const counts = yield* stop
      // the scrapers ran a little before and after the window: the rate is an estimate
      return { ...result, scrapesPerSecond: counts.done / 2 / Duration.toSeconds(roundLength), failed: counts.failed }
    })

  const quiet: Array<Effect.Success<typeof measure>> = []
  const paced: Array<Effect.Success<ReturnType<typeof scraped>>> = []
  const backToBack: Array<Effect.Success<ReturnType<typeof scraped>>> = []
  for (let round = 0; round < rounds; round++) {
    quiet.push(yield* measure)
    paced.push(yield* scraped(250))
    backToBack.push(yield* scraped(0))
  }
  yield* Fiber.interruptAll(workload)
  const summary = (loaded: ReadonlyArray<Effect.Success<ReturnType<typeof scraped>>>) => ({
    opsPerSecond: median(loaded.map((r) => r.opsPerSecond)),
    ratio: median(loaded.map((r, i) => r.opsPerSecond / quiet[i]!.opsPerSecond)),
    scrapesPerSecond: median(loaded.map((r) => r.scrapesPerSecond)),
    failed: loaded.reduce((sum, r) => sum + r.failed, 0),
    anomalies: loaded.reduce((sum, r) => sum + r.anomalies, 0),
    loopUtilization: median(loaded.map((r) => r.loopUtilization))
  })
  return {
    quiet: {
      opsPerSecond: median(quiet.map((r) => r.opsPerSecond)),
      anomalies: quiet.reduce((sum, r) => sum + r.anomalies, 0),
      loopUtilization: median(quiet.map((r) => r.loopUtilization))
    },
    paced: summary(paced),
    backToBack: summary(backToBack)
  }
}).pipe(Effect.provide(Layer.fresh(live)))

export const printScrapeLoad = (result: Effect.Success<typeof scrapeLoad>) => {
  console.log(`scrape load (${workers} traced workers, ${rounds} alternate rounds of ${Duration.format(roundLength)})`)
  const loop = (utilization: number) => `event loop ${(utilization * 100).toFixed(0)}% busy`
  console.log(
    `  no scrapers:              ${result.quiet.opsPerSecond.toFixed(0)} ops/s, ${result.quiet.anomalies} anomalies, ` +
      loop(result.quiet.loopUtilization)
  )
  for (const [name, loaded] of [["paced", result.paced], ["back to back", result.backToBack]] as const) {
    console.log(
      `  ${scrapers} scrapers, ${name.padEnd(12)}: ${loaded.opsPerSecond.toFixed(0)} ops/s, ratio ${
        loaded.ratio.toFixed(3)
      }, ` +
        `${loaded.anomalies} anomalies, ${loop(loaded.loopUtilization)} ` +
        `(${loaded.scrapesPerSecond.toFixed(0)} scrapes/s of both endpoints, ${loaded.failed} failed)`
    )
  }
  console.log("  ratio: median over rounds of scraped / quiet ops/s; the goal is >= 0.90")
}

if (import.meta.main) printScrapeLoad(await Effect.runPromise(scrapeLoad))
