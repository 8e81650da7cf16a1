import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"
// @ts-expect-error the parser ships no type declarations
import parsePrometheusTextFormat from "parse-prometheus-text-format"

/** One metric family as parse-prometheus-text-format returns it. */
export interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: string
  readonly metrics: ReadonlyArray<{
    readonly labels?: Record<string, string>
    readonly value?: string
    readonly buckets?: Record<string, string>
    readonly count?: string
    readonly sum?: string
  }>
}

/** Parses a Prometheus text exposition; throws on malformed input. */
export const parseExposition = (text: string): ReadonlyArray<MetricFamily> => parsePrometheusTextFormat(text)

/**
 * Where promtool is, if Debian's prometheus package is installed (`.ci/run`
 * installs it). The one lookup of the three packages' tests, which import it
 * as `@mcp-apm/core/test/support/prometheus`.
 */
export const promtool: string | undefined = ["/usr/bin/promtool", "/usr/local/bin/promtool"].find(existsSync)

/**
 * `promtool check metrics` over the text, where promtool is installed.
 * Returns what promtool printed, or undefined without promtool. promtool
 * exits non-zero on a format error and on lint problems; both are thrown.
 */
export const promtoolCheck = (text: string): string | undefined =>
  promtool === undefined ? undefined : execFileSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" })
