/**
 * Options of the Node runtime: where `/metrics` and the dashboard listen,
 * the service name spans are exported under, the file baselines are kept in
 * across restarts, where CPU and heap profiles are written, the bearer token
 * that guards the HTTP endpoints and how long shutdown may take.
 *
 * @since 0.1.0
 */
import { Config, Context, Duration, Layer, Schema } from "effect"

const options = Config.all({
  host: Config.String("APM_HTTP_HOST").pipe(Config.withDefault("127.0.0.1")),
  // Config.Port refuses 0, which asks the system for a free port.
  port: Config.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })), "APM_HTTP_PORT").pipe(
    Config.withDefault(9464)
  ),
  serviceName: Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault("mcp-apm")),
  baselineFile: Config.String("APM_BASELINE_FILE").pipe(Config.withDefault(".apm/baselines.json")),
  profileDirectory: Config.option(Config.String("APM_PROFILE_DIR")),
  // A token is a secret: Config.Redacted keeps it out of logs and error messages.
  httpToken: Config.option(Config.Redacted("APM_HTTP_TOKEN")),
  shutdownTimeout: Config.Duration("APM_SHUTDOWN_TIMEOUT").pipe(Config.withDefault(Duration.seconds(3)))
})

/**
 * @category models
 * @since 0.1.0
 */
export type RuntimeOptions = Config.Success<typeof options>

/**
 * `host` defaults to 127.0.0.1: an APM endpoint shows operation names and
 * errors, which are not for the whole network unless someone says so.
 * `port` 0 picks a free port.
 *
 * @category services
 * @since 0.1.0
 */
export class RuntimeConfig extends Context.Service<RuntimeConfig, RuntimeOptions>()("@mcp-apm/runtime/RuntimeConfig") {
  /**
   * From `APM_HTTP_HOST`, `APM_HTTP_PORT`, `OTEL_SERVICE_NAME`, `APM_BASELINE_FILE`, `APM_PROFILE_DIR`,
   * `APM_HTTP_TOKEN` and `APM_SHUTDOWN_TIMEOUT`.
   */
  static readonly layerFromEnvironment: Layer.Layer<RuntimeConfig, Config.ConfigError> = Layer.effect(
    RuntimeConfig,
    options
  )

  /** Fixed options, for tests and embedding. */
  static readonly layer = (value: RuntimeOptions): Layer.Layer<RuntimeConfig> => Layer.succeed(RuntimeConfig, value)
}

/**
 * How long the final flush of one signal's export may take within
 * `APM_SHUTDOWN_TIMEOUT`: the process has more to release after it (the
 * HTTP server, the baselines file), so the flush leaves it a tenth of the
 * budget, at most 250 ms, and the process, not only the flush, ends in time.
 * The signals flush side by side, each within this.
 *
 * @category constructors
 * @since 0.1.0
 */
export const flushTimeoutMillis = (shutdownTimeout: Duration.Duration): number => {
  const budget = Duration.toMillis(shutdownTimeout)
  return budget - Math.min(budget / 10, 250)
}
