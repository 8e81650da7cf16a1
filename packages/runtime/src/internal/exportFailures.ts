/**
 * What an OTLP exporter of logs or metrics did not deliver: counted on
 * `/metrics` and logged at Warning, once a minute, so that a dead collector
 * costs the application nothing and still shows.
 *
 * @since 0.1.0
 */
import { RateLimitedLog, ReadOnlyMetric } from "@mcp-apm/core"
import { type ExportResult, ExportResultCode } from "@opentelemetry/core"
import { Effect, Metric } from "effect"

/** The one method of the SDK's exporters this module needs. */
interface Exporter<Items> {
  export(items: Items, resultCallback: (result: ExportResult) => void): void
}

/**
 * Makes `exporter` count the items of every export that did not succeed in
 * the counter `name` (registered in the registry of the current context) and
 * log `message` about them, rate-limited. The exporter is otherwise untouched,
 * its temporality and aggregation choices included.
 */
export const countFailures = Effect.fnUntraced(function*<E extends Exporter<any>>(
  exporter: E,
  options: {
    readonly name: string
    readonly description: string
    readonly attributes?: Record<string, string>
    readonly size: (items: Parameters<E["export"]>[0]) => number
    readonly message: (count: number, detail: string) => string
  }
) {
  const context = yield* Effect.context<never>()
  const log = RateLimitedLog.make({ interval: "1 minute" })
  let failed = 0
  ReadOnlyMetric.registerCounter(
    Metric.counter(options.name, {
      description: options.description,
      incremental: true,
      ...(options.attributes === undefined ? undefined : { attributes: options.attributes })
    }),
    context,
    () => failed
  )
  const send = exporter.export.bind(exporter)
  exporter.export = (items, resultCallback) =>
    send(items, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        const count = options.size(items)
        failed += count
        const detail = result.error?.message ?? "no reason given"
        Effect.runForkWith(context)(log.warn(options.name, options.message(count, detail), { count }))
      }
      resultCallback(result)
    })
  return exporter
})
