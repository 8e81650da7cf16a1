/**
 * `mcp-apm demo` (`npm start`): the five MCP services simulated under load
 * with a scheduled fault, monitored by `ApmLive`: `/metrics` and the
 * dashboard are served while it runs, and what the APM finds is printed as it
 * happens (`demo/Narration.ts`) and at the end (`demo/Report.ts`). It stops by itself after `--duration` seconds, or on
 * SIGINT / SIGTERM (the report is printed either way). `--seed` repeats a
 * run's random choices; `--rate`, `--fault-at` and `--faults` shape the load.
 * Plans are stored in an embedded PostgreSQL when one is installed, else in
 * the process (`demo/PlanStore.ts`, `--plans`), as its output says.
 */
import { NodeServices } from "@effect/platform-node"
import { Apm } from "@mcp-apm/core"
import { ConfigProvider, Console, Duration, Effect, Layer, Option, Random, Schedule } from "effect"
import { Command, Flag } from "effect/cli"
import { HttpServer } from "effect/http"
import { NetAddress } from "effect/net"
import { GitRepository } from "../demo/GitRepository.ts"
import * as McpWorkload from "../demo/McpWorkload.ts"
import * as Narration from "../demo/Narration.ts"
import { PlanStore } from "../demo/PlanStore.ts"
import { report } from "../demo/Report.ts"
import { McpServicesLive } from "../McpServicesLive.ts"
import { RuntimeConfig } from "../RuntimeConfig.ts"
import * as SignalExit from "./SignalExit.ts"
import { UsageError } from "./UsageError.ts"

const progress = Effect.gen(function*() {
  const operations = (yield* Apm.summaries).reduce((n, s) => n + s.totalOperations, 0)
  yield* Console.log(`${operations} operations traced`)
})

const seconds = (name: string, description: string) =>
  Flag.Finite(name).pipe(
    Flag.withDescription(description),
    Flag.filter((s) => s > 0, () => "a number of seconds greater than 0")
  )

// long enough for a newcomer to open the dashboard, watch the baselines settle and the fault arrive (at 36 s)
const duration = seconds("duration", "how long to run, in seconds (default 90)").pipe(Flag.withDefault(90))
const port = Flag.Int("port").pipe(
  Flag.withDescription("the port of /metrics and the dashboard (0 picks a free one); default APM_HTTP_PORT or 9464"),
  Flag.filter((p) => p >= 0 && p <= 65535, () => "a port between 0 and 65535"),
  Flag.optional
)
const seed = Flag.Int("seed").pipe(
  Flag.withDescription("the seed of the simulation's random choices, to repeat a run; default a random one, printed"),
  Flag.filter((s) => s >= 0, () => "a whole number >= 0"),
  Flag.optional
)
const faultAt = Flag.Finite("fault-at").pipe(
  Flag.withDescription("when the fault starts, in seconds from the start (default 40% of --duration); it lasts 30%"),
  Flag.filter((s) => s >= 0, () => "a number of seconds >= 0"),
  Flag.optional
)
const maxRate = 1000
const rate = Flag.Finite("rate").pipe(
  Flag.withDescription("operations per second, each one request to one of the five services (default 80)"),
  Flag.filter(
    (r) => r > 0 && r <= maxRate,
    () => `a number of operations per second greater than 0 and at most ${maxRate}`
  ),
  Flag.withDefault(80)
)
const faults = Flag.Literals("faults", ["default", "none"]).pipe(
  Flag.withDescription("default: slow model requests and plan storage errors for a while; none: a clean run"),
  Flag.withDefault("default")
)

const git = Flag.Literals("git", ["real", "simulated"]).pipe(
  Flag.withDescription(
    "real: the git worktree service runs git in a temporary repository (default); simulated: sleeps"
  ),
  Flag.withDefault("real")
)

const plans = Flag.Literals("plans", ["postgres", "memory"]).pipe(
  Flag.withDescription(
    "postgres: plans kept in an embedded PostgreSQL when one is installed, else in the process (default); " +
      "memory: in the process"
  ),
  Flag.withDefault("postgres")
)

interface DemoOptions {
  readonly duration: number
  readonly port: Option.Option<number>
  readonly seed: Option.Option<number>
  readonly faultAt: Option.Option<number>
  readonly rate: number
  readonly faults: "default" | "none"
  readonly git: "real" | "simulated"
  readonly plans: "postgres" | "memory"
}

/** The fault of a run, or the usage error of flags that contradict each other. */
const faultOf = (options: DemoOptions): Effect.Effect<Option.Option<McpWorkload.FaultSchedule>, UsageError> => {
  if (options.faults === "none") {
    return Option.isSome(options.faultAt)
      ? Effect.fail(new UsageError({ message: "--fault-at cannot be used with --faults none" }))
      : Effect.succeedNone
  }
  const start = Option.getOrElse(options.faultAt, () => options.duration * 0.4)
  if (start >= options.duration) {
    return Effect.fail(
      new UsageError({
        message: `--fault-at ${start} must be before the end of the run (--duration ${options.duration})`
      })
    )
  }
  return Effect.succeedSome({
    start: Duration.seconds(start),
    length: Duration.seconds(Math.min(options.duration * 0.3, options.duration - start))
  })
}

// A --port given on the command line wins over APM_HTTP_PORT.
const portOverride = (port: Option.Option<number>) =>
  Option.match(port, {
    onNone: () => Layer.empty,
    onSome: (port) =>
      ConfigProvider.layerAdd(ConfigProvider.fromUnknown({ APM_HTTP_PORT: String(port) }), { asPrimary: true })
  })

const formatSeconds = (seconds: number) => Duration.format(Duration.seconds(seconds))

/**
 * @category commands
 * @since 0.1.0
 */
export const demoCommand = Command.make(
  "demo",
  { duration, port, seed, faultAt, rate, faults, git, plans },
  (options) =>
    Effect.gen(function*() {
      const fault = yield* faultOf(options)
      const seed = Option.isSome(options.seed) ? options.seed.value : yield* Random.nextIntBetween(0, 2 ** 31 - 1)
      yield* Effect.gen(function*() {
        const url = NetAddress.formatUrlUnsafe((yield* HttpServer.HttpServer).address)
        yield* Console.log(
          `mcp-apm demo: five MCP services, ${options.rate} operations/s for ${
            formatSeconds(options.duration)
          }, seed ${seed}; ` +
            Option.match(fault, {
              onNone: () => "no fault.",
              onSome: (f) =>
                `a fault (slow model requests, plan storage errors) from ${Duration.format(f.start)} for ${
                  Duration.format(f.length)
                }.`
            })
        )
        const store = yield* PlanStore
        yield* Console.log(`plan storage: ${store.description}`)
        // the ready line: the server is listening
        yield* Console.log(`metrics: ${url}/metrics   dashboard: ${url}/`)
        const repository = Option.getOrUndefined(yield* Effect.serviceOption(GitRepository))
        yield* McpWorkload.run({ rate: options.rate, fault, seed, git: repository, plans: store }).pipe(
          Effect.raceFirst(
            Effect.all([Narration.narrate(), Effect.repeat(progress, Schedule.spaced("10 seconds"))], {
              concurrency: "unbounded"
            }).pipe(Effect.andThen(Effect.never))
          ),
          Effect.timeout(Duration.seconds(options.duration)),
          Effect.ignore,
          // also when SIGINT or SIGTERM cut the run short
          Effect.ensuring(report)
        )
      }).pipe(
        // a peer that holds a connection open must not hold the process past APM_SHUTDOWN_TIMEOUT
        Effect.onInterrupt(() =>
          Effect.flatMap(RuntimeConfig, ({ shutdownTimeout }) => SignalExit.deadline(shutdownTimeout))
        ),
        Effect.provide(McpServicesLive),
        Effect.provide(
          options.git === "real" ? GitRepository.layer.pipe(Layer.provide(NodeServices.layer)) : Layer.empty
        ),
        // PostgreSQL when it is installed, stopped and removed with the layer (on a signal too)
        Effect.provide(options.plans === "postgres" ? PlanStore.layer : PlanStore.layerMemory),
        Effect.provide(RuntimeConfig.layerFromEnvironment),
        Effect.provide(portOverride(options.port))
      )
    })
).pipe(
  Command.withDescription("simulate the five MCP services under load, with a fault, and show what the APM finds")
)
