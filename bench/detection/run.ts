/**
 * Detection-quality benchmark: runs every detector family of `families.ts`
 * (the streaming detector's "metric" profile and the reference detectors)
 * over every series of the NAB development subset (`../shared/nab`, relative
 * to the repository root), scores them with NAB's cost profiles (see
 * `nab.ts`) and cross-validates their tunings across the subset's categories
 * (see `crossValidation.ts`).
 *
 *   node bench/detection/run.ts            print the tables
 *   node bench/detection/run.ts --check    also verify the scorer on known cases and the detectors on degenerate input
 *   node bench/detection/run.ts --files    also print per-file scores
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { CrossValidationResult, SubsetScore } from "./crossValidation.ts"
import { crossValidate, runner } from "./crossValidation.ts"
import { families, metricFamily } from "./families.ts"
import { formatThreshold } from "./reference/common.ts"
import type { CostProfile, LabelledSeries, PreparedSeries } from "./nab.ts"
import { prepare, profiles, scoreCorpus, scoreFile, standardProfile, sweep } from "./nab.ts"
import { scoreSeries } from "./scorer.ts"

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

export interface ProfileResult {
  readonly profile: string
  readonly best: { readonly threshold: number; readonly score: number }
  readonly atDefault: number
}

/** The shipped metric profile on the whole subset (`best` ... `profiles`), and every family cross-validated. */
export interface DetectionBenchResult {
  readonly best: { readonly threshold: number; readonly score: number }
  readonly atDefault: number
  readonly defaultThreshold: number
  readonly profiles: ReadonlyArray<ProfileResult>
  readonly crossValidated: CrossValidationResult
}

export const evaluate = (
  prepared: ReadonlyArray<PreparedSeries>,
  scores: ReadonlyArray<Float64Array>,
  defaultThreshold: number
): Omit<DetectionBenchResult, "crossValidated"> => {
  const results = profiles.map((profile: CostProfile): ProfileResult => ({
    profile: profile.name,
    best: sweep(prepared, scores, profile),
    atDefault: scoreCorpus(prepared, scores, defaultThreshold, profile).score
  }))
  const standard = results[0]!
  return { best: standard.best, atDefault: standard.atDefault, defaultThreshold, profiles: results }
}

const fixed = (x: number, digits: number, width: number) => x.toFixed(digits).padStart(width)

/** A normalised score, or for files without windows (nothing to normalise by) the raw score and its FPs. */
const subsetText = (s: SubsetScore): string =>
  s.score !== undefined ? s.score.toFixed(1) : `raw ${s.raw.toFixed(2)} (${s.fp} FP)`

const print = (
  corpus: ReadonlyArray<LabelledSeries>,
  prepared: ReadonlyArray<PreparedSeries>,
  result: DetectionBenchResult,
  files: boolean
) => {
  const cv = result.crossValidated
  const samples = corpus.reduce((n, s) => n + s.values.length, 0)
  const windows = prepared.reduce((n, p) => n + p.windowCount, 0)
  console.log(
    `NAB development subset: ${corpus.length} series, ${samples} samples, ${windows} windows, ` +
      `${cv.categories.length} categories; NAB standard profile`
  )
  const scoreAt = (best: { readonly score: number; readonly threshold: number }) =>
    `${fixed(best.score, 1, 6)} ${`(${formatThreshold(best.threshold)})`.padEnd(11)}`
  console.log(
    `\n${"family".padEnd(20)}${"tunings".padStart(8)}${"us/sample".padStart(11)}   ` +
      `${"dev best (thr)".padEnd(18)}${"dev default".padStart(11)}${"CV default".padStart(12)}   CV best (thr)`
  )
  for (const f of cv.families) {
    const defaults = `${fixed(f.development.atDefault, 1, 11)}${fixed(f.crossValidated.atDefault, 1, 12)}`
    console.log(
      `${f.family.padEnd(20)}${String(f.tunings).padStart(8)}${fixed(f.microsPerSample, 2, 11)}   ` +
        `${scoreAt(f.development.best)}${defaults}   ${scoreAt(f.crossValidated.best)}`.trimEnd()
    )
  }
  console.log(
    "\ndev = shipped tuning on all files; CV default = each file scored by the tuning (and threshold) " +
      "of the fold that held its category out; CV best = the same tunings at the best common threshold"
  )
  for (const f of cv.families) console.log(`  shipped ${f.family}: ${f.shipped}`)

  console.log(
    "\ncross-validation folds: held-out category, training score (other categories), held-out score, " +
      "chosen tuning"
  )
  for (const f of cv.families) {
    console.log(f.family)
    for (const fold of f.folds) {
      console.log(
        `  ${fold.heldOut.padEnd(23)}${fixed(fold.training, 1, 6)}  ${subsetText(fold.test).padEnd(18)}` +
          `${fold.tuning}`
      )
    }
  }

  console.log(`\nmetric profile, shipped tuning, all cost profiles (default threshold ${result.defaultThreshold})`)
  console.log("cost profile            best threshold   score  at default")
  for (const r of result.profiles) {
    console.log(
      `${r.profile.padEnd(24)}${fixed(r.best.threshold, 4, 14)}${fixed(r.best.score, 1, 8)}` +
        `${fixed(r.atDefault, 1, 12)}`
    )
  }

  const column = 26
  const header = (first: string) => first + cv.categories.map((c) => c.padStart(column)).join("")
  console.log(
    "\nper category, shipped tunings at their default thresholds (normalised per category; " +
      "no windows: raw score and FPs)"
  )
  console.log(header("family".padEnd(20)))
  for (const f of cv.families) {
    console.log(f.family.padEnd(20) + f.categories.map((c) => subsetText(c).padStart(column)).join(""))
  }

  console.log(
    "\nsensitivity of the metric profile: one constant moved, the others as shipped, threshold " +
      `${result.defaultThreshold}; dev score (= pooled CV of a fixed tuning) and per category`
  )
  console.log(header("constant                  value    dev"))
  for (const r of cv.sensitivity) {
    const value = `${r.value}${r.shipped ? "*" : " "}`
    console.log(
      `${r.axis.padEnd(22)}${value.padStart(10)}${fixed(r.atDefault, 1, 6)}` +
        r.categories.map((c) => subsetText(c).padStart(column)).join("")
    )
  }
  console.log("(* shipped)")

  if (files) {
    const text = (s: { raw: number; tp: number; fn: number; fp: number }) =>
      `${fixed(s.raw, 3, 8)} tp ${s.tp} fn ${s.fn} fp ${s.fp}`
    for (const f of cv.families) {
      console.log(
        `\n${f.family}, per file (raw standard score): shipped at threshold ` +
          `${formatThreshold(f.development.defaultThreshold)} | cross-validated`
      )
      for (const file of f.files) {
        console.log(`${file.name.padEnd(62)}${text(file.development).padEnd(30)}|${text(file.crossValidated)}`)
      }
    }
  }
}

export const runDetectionBench = async (
  options?: { readonly log?: boolean; readonly files?: boolean }
): Promise<DetectionBenchResult> => {
  const corpus = loadCorpus()
  const prepared = corpus.map(prepare)
  const run = runner(prepared, corpus.map((s) => s.values))
  const crossValidated = crossValidate(prepared, run, families)
  const shipped = metricFamily.shipped
  const result = {
    ...evaluate(prepared, run.scores(metricFamily, shipped), metricFamily.threshold(shipped)),
    crossValidated
  }
  if (options?.log !== false) print(corpus, prepared, result, options?.files === true)
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

/**
 * Every family's shipped tuning on degenerate series (constant, zero, tiny, near the largest double, alternating
 * extremes, a jump from one to the other): every score must be a number in [0, 1]. Throws on the first failure.
 */
export const checkDetectors = (): void => {
  const n = 2000
  const series: Record<string, (i: number) => number> = {
    constant: () => 42,
    zero: () => 0,
    tiny: (i) => 1e-300 * (1 + (i % 7)),
    huge: (i) => 1e307 * (1 + (i % 3)),
    alternating: (i) => (i % 2 === 0 ? Number.MAX_VALUE : -Number.MAX_VALUE),
    jump: (i) => (i < n / 2 ? 1 : Number.MAX_VALUE)
  }
  for (const family of families) {
    for (const [name, value] of Object.entries(series)) {
      const scores = scoreSeries(family.make(family.shipped), Array.from({ length: n }, (_, i) => value(i)))
      const bad = scores.findIndex((s) => !(s >= 0 && s <= 1))
      if (bad >= 0) throw new Error(`detector check failed: ${family.name} on ${name}: score ${scores[bad]} at ${bad}`)
    }
  }
  console.log("detector checks passed")
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--check")) {
    checkScorer()
    checkDetectors()
  }
  await runDetectionBench({ files: process.argv.includes("--files") })
}
