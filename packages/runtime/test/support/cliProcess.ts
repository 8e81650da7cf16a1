/**
 * The real `mcp-apm` program in a child process (the Node running vitest is
 * the project's Node 24, which runs `.ts` directly), with an environment of
 * the test's own: no `APM_*` or `OTEL_*` variable leaks in from the caller,
 * and baselines go to a temporary file.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { temporaryDirectory } from "./live.ts"

const bin = join(import.meta.dirname, "../../src/bin/mcp-apm.ts")

interface Finished {
  /** the exit code; null when a signal the program did not handle killed it (see `signal`) */
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Started {
  readonly pid: number
  readonly baselineFile: string
  /** The base URL of the demo's server, once its ready line is out. */
  readonly ready: Promise<string>
  readonly finished: Promise<Finished>
  readonly kill: (signal: NodeJS.Signals) => void
}

const environment = (env: Record<string, string>) => {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("APM_") && !key.startsWith("OTEL_"))
  )
  const baselineFile = join(temporaryDirectory("mcp-apm-cli"), "baselines.json")
  return { env: { ...inherited, APM_BASELINE_FILE: baselineFile, ...env }, baselineFile }
}

/** Starts `mcp-apm ...args`; `nodeOptions` go to Node before the script (`--max-old-space-size=48`). */
export const start = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  nodeOptions: ReadonlyArray<string> = []
): Started => {
  const { baselineFile, env: childEnv } = environment(env)
  const child = spawn(process.execPath, [...nodeOptions, bin, ...args], {
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  let onReady: (url: string) => void = () => {}
  const ready = new Promise<string>((resolve) => (onReady = resolve))
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text
    const url = /^metrics: (http:\/\/\S+)\/metrics/m.exec(stdout)
    if (url !== null) onReady(url[1]!)
  })
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text))
  const finished = new Promise<Finished>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  )
  return { pid: child.pid!, baselineFile, ready, finished, kill: (signal) => child.kill(signal) }
}

/** Runs `mcp-apm ...args` to its end. */
export const run = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  nodeOptions: ReadonlyArray<string> = []
) => start(args, env, nodeOptions).finished

/** A stack frame line, as in `    at onNone (file:///...)`. */
export const stackFrame = /^\s+at /m
