/**
 * Detection-quality benchmark: runs the streaming detector, with its "metric"
 * profile unless told otherwise, over every series of the NAB development
 * subset (`../shared/nab`, relative to the repository root) and scores it with
 * NAB's cost profiles (see `nab.ts`) at the best threshold of a sweep and at
 * the detector profile's default threshold.
 *
 *   node bench/detection/run.ts            print the table
 *   node bench/detection/run.ts --check    also verify the scorer on known cases
 *   node bench/detection/run.ts --files    also print per-file scores at the best threshold
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import type { DetectorOptions } from "@mcp-apm/core/StreamingDetector"
import type { CostProfile, LabelledSeries, PreparedSeries } from "./nab.ts"
import { prepare, profiles, scoreCorpus, scoreFile, standardProfile, sweep } from "./nab.ts"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const nabRoot = path.resolve(repoRoot, "../shared/nab")

export const loadCorpus = (root: string = nabRoot): Array<LabelledSeries> => {
  const windows = JSON.parse(fs.readFileSync(path.join(root, "combined_windows.json"), "utf8")) as Record<
    string,
    Array<[string, string]>
  >
  return Object.keys(windows).sort().map((name) => {
    const lines = fs.readFileSync(path.join(root, "data", name), "utf8").split(/\r?\n/)
    const timestamps: Array<string> = []
    const values: Array<number> = []
    for (const line of lines.slice(1)) {
      if (line.trim() === "") continue
      const comma = line.indexOf(",")
      timestamps.push(line.slice(0, comma))
      values.push(Number(line.slice(comma + 1)))
    }
    return { name, timestamps, values, windows: windows[name]! }
  })
}

export const detect = (values: ReadonlyArray<number>, options?: Partial<DetectorOptions>): Float64Array => {
  const detector = new StreamingDetector(options)
  const scores = new Float64Array(values.length)
  for (let i = 0; i < values.length; i++) scores[i] = detector.assess(values[i]!).score
  return scores
}

export interface ProfileResult {
  readonly profile: string
  readonly best: { readonly threshold: number; readonly score: number }
  readonly atDefault: number
}

export interface DetectionBenchResult {
  readonly best: { readonly threshold: number; readonly score: number }
  readonly atDefault: number
  readonly defaultThreshold: number
  readonly profiles: ReadonlyArray<ProfileResult>
}

export const evaluate = (
  prepared: ReadonlyArray<PreparedSeries>,
  scores: ReadonlyArray<Float64Array>,
  defaultThreshold: number
): DetectionBenchResult => {
  const results = profiles.map((profile: CostProfile): ProfileResult => ({
    profile: profile.name,
    best: sweep(prepared, scores, profile),
    atDefault: scoreCorpus(prepared, scores, defaultThreshold, profile).score
  }))
  const standard = results[0]!
  return { best: standard.best, atDefault: standard.atDefault, defaultThreshold, profiles: results }
}

export const runDetectionBench = async (
  options?: Partial<DetectorOptions> & { readonly log?: boolean; readonly files?: boolean }
): Promise<DetectionBenchResult> => {
  const corpus = loadCorpus()
  const prepared = corpus.map(prepare)
  const started = performance.now()
  const scores = corpus.map((s) => detect(s.values, { profile: "metric", ...options }))
  const elapsed = performance.now() - started
  const defaultThreshold = new StreamingDetector({ profile: "metric", ...options }).threshold
  const result = evaluate(prepared, scores, defaultThreshold)
  if (options?.log !== false) {
    const samples = corpus.reduce((n, s) => n + s.values.length, 0)
    console.log(`NAB development subset, detector profile "${options?.profile ?? "metric"}": ${corpus.length} series, ${samples} samples, ${prepared.reduce((n, p) => n + p.windowCount, 0)} windows`)
    console.log(`detector: ${(elapsed * 1e6 / samples).toFixed(0)} ns/sample`)
    console.log("profile                 best threshold   score   score at default threshold " + defaultThreshold.toFixed(4))
    for (const r of result.profiles) {
      console.log(`${r.profile.padEnd(24)}${r.best.threshold.toFixed(4).padStart(14)}${r.best.score.toFixed(1).padStart(8)}${r.atDefault.toFixed(1).padStart(12)}`)
    }
    if (options?.files) {
      for (const t of [["best", result.best.threshold], ["default", defaultThreshold]] as const) {
        console.log(`\nper file at ${t[0]} threshold ${t[1].toFixed(4)} (standard profile)`)
        prepared.forEach((p, k) => {
          const s = scoreFile(p, scores[k]!, t[1], standardProfile)
          console.log(`${p.name.padEnd(62)} raw ${s.raw.toFixed(3).padStart(8)}  tp ${s.tp} fn ${s.fn} fp ${s.fp}`)
        })
      }
    }
  }
  return result
}

/** Scorer sanity checks on hand-built cases; throws on the first failure. */
export const checkScorer = (): void => {
  const corpus = loadCorpus()
  const prepared = corpus.map(prepare)
  const approx = (a: number, b: number, what: string) => {
    if (Math.abs(a - b) > 1e-9) throw new Error(`scorer check failed: ${what}: ${a} !== ${b}`)
  }
  const nothing = prepared.map((p) => new Float64Array(p.length))
  approx(scoreCorpus(prepared, nothing, 0.5, standardProfile).score, 0, "null detector scores 0")
  const perfect = prepared.map((p) => {
    const s = new Float64Array(p.length)
    let last = -1
    for (let i = p.probation; i < p.length; i++) {
      if (p.window[i]! >= 0 && p.window[i] !== last) s[i] = 1
      if (p.window[i]! >= 0) last = p.window[i]!
    }
    return s
  })
  for (const profile of profiles) {
    approx(scoreCorpus(prepared, perfect, 0.5, profile).score, 100, `perfect detector scores 100 (${profile.name})`)
  }
  approx(sweep(prepared, perfect, standardProfile).score, 100, "sweep finds the perfect threshold")
  // one FP with no preceding window costs exactly fp; one far after a window costs ~fp
  const noWindows = prepared.find((p) => p.windowCount === 0)!
  const one = new Float64Array(noWindows.length)
  one[noWindows.length - 1] = 1
  approx(scoreFile(noWindows, one, 0.5, standardProfile).raw, -0.11, "an FP without a preceding window costs fp")
  const detectionInProbation = new Float64Array(noWindows.length)
  detectionInProbation[0] = 1
  approx(scoreFile(noWindows, detectionInProbation, 0.5, standardProfile).raw, 0, "probationary rows are ignored")
  const withWindow = prepared.find((p) => p.windowCount === 1)!
  const end = withWindow.window.lastIndexOf(0)
  const start = withWindow.window.indexOf(0)
  const late = new Float64Array(withWindow.length)
  late[end] = 1
  const expectedLate = (2 / (1 + Math.exp(5 * (-1 / (end - start + 1)))) - 1) / (2 / (1 + Math.exp(-5)) - 1)
  approx(scoreFile(withWindow, late, 0.5, standardProfile).raw, expectedLate, "a detection on a window's last row")
  const justAfter = new Float64Array(withWindow.length)
  justAfter[start] = 1
  justAfter[end + 1] = 1
  const expectedAfter = 1 + 0.11 * (2 / (1 + Math.exp(5 / (end - start))) - 1)
  approx(scoreFile(withWindow, justAfter, 0.5, standardProfile).raw, expectedAfter, "an FP just after a window")
  console.log("scorer checks passed")
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--check")) checkScorer()
  await runDetectionBench({ files: process.argv.includes("--files") })
}
