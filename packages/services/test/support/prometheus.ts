import { Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"

/** The metric family names that have a HELP line in the Prometheus exposition, and the text. */
export const exposition = Effect.map(PrometheusMetrics.format(), (text) => {
  const help = new Map<string, string>()
  for (const line of text.split("\n")) {
    const match = /^# HELP (\S+) (.*)$/.exec(line)
    if (match !== null) help.set(match[1]!, match[2]!)
  }
  return { text, help }
})

/** The Prometheus family name of a metric id, as Effect's formatter sanitises it. */
export const prometheusName = (id: string): string => id.replace(/[^a-zA-Z0-9_:]/g, "_")
