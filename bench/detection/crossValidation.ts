/**
 * Leave-one-category-out cross-validation of the detector families on the
 * NAB development subset, so that a family's score is not that of constants
 * chosen on the very files it is scored on.
 *
 * For each category, the tuning of the family's grid with the best NAB
 * standard score on the other categories (at that tuning's threshold; ties go
 * to the earlier grid entry) scores the held-out category. The pooled
 * cross-validated score scores every file with the tuning of the fold that
 * held it out, binarised at that fold's threshold, all files as one corpus;
 * its "best" variant keeps the fold tunings but sweeps one common threshold.
 * The development score is the shipped tuning on every file, at its own
 * threshold and at the best one. Each tuning runs once over the corpus: runs
 * are cached by the family's `runKey`.
 */
import type { Axis, BenchFamily } from "./families.ts"
import { metricAxes, metricFamily, metricVariant } from "./families.ts"
import type { FileScore, PreparedSeries } from "./nab.ts"
import { corpusBounds, normalize, scoreCorpus, scoreFile, standardProfile, sweep } from "./nab.ts"
import { scoreSeries } from "./scorer.ts"

/** `<category>/<file>.csv` */
export const categoryOf = (name: string): string => name.slice(0, name.indexOf("/"))

/** Standard-profile score of some files; `score` (normalised over them) is undefined when they have no window. */
export interface SubsetScore {
  readonly score: number | undefined
  readonly raw: number
  readonly tp: number
  readonly fp: number
  readonly fn: number
}

export interface CategoryScore extends SubsetScore {
  readonly category: string
}

export interface Fold {
  readonly heldOut: string
  readonly tuning: string
  readonly threshold: number
  /** normalised standard score of the chosen tuning on the other categories */
  readonly training: number
  readonly test: SubsetScore
}

export interface FileResult {
  readonly name: string
  /** the shipped tuning at its threshold */
  readonly development: FileScore
  /** the tuning of the fold that held the file out, at that fold's threshold */
  readonly crossValidated: FileScore
}

export interface FamilyReport {
  readonly family: string
  readonly shipped: string
  readonly tunings: number
  readonly development: {
    readonly best: { readonly threshold: number; readonly score: number }
    readonly atDefault: number
    readonly defaultThreshold: number
  }
  readonly folds: ReadonlyArray<Fold>
  readonly crossValidated: {
    readonly atDefault: number
    readonly best: { readonly threshold: number; readonly score: number }
  }
  /** the shipped tuning at its threshold, per category */
  readonly categories: ReadonlyArray<CategoryScore>
  readonly files: ReadonlyArray<FileResult>
  readonly microsPerSample: number
}

/** The shipped metric profile with one constant moved, the others as shipped, at the profile's threshold. */
export interface SensitivityRow {
  readonly axis: string
  readonly value: number
  readonly shipped: boolean
  readonly atDefault: number
  readonly categories: ReadonlyArray<CategoryScore>
}

export interface CrossValidationResult {
  readonly categories: ReadonlyArray<string>
  readonly families: ReadonlyArray<FamilyReport>
  readonly sensitivity: ReadonlyArray<SensitivityRow>
}

const sum = (xs: ReadonlyArray<number>): number => xs.reduce((a, b) => a + b, 0)

export type Runs = ReturnType<typeof runner>

/** Scores and file scores of each tuning, computed once; run times are kept per family. */
export const runner = (prepared: ReadonlyArray<PreparedSeries>, values: ReadonlyArray<ReadonlyArray<number>>) => {
  const runs = new Map<string, ReadonlyArray<Float64Array>>()
  const scored = new Map<string, ReadonlyArray<FileScore>>()
  const time = new Map<string, { ms: number; samples: number }>()
  const samples = sum(values.map((v) => v.length))
  const scores = <P>(family: BenchFamily<P>, params: P): ReadonlyArray<Float64Array> => {
    const key = `${family.name}\n${family.runKey(params)}`
    let run = runs.get(key)
    if (run === undefined) {
      const started = performance.now()
      run = values.map((v) => scoreSeries(family.make(params), v))
      const spent = time.get(family.name) ?? { ms: 0, samples: 0 }
      time.set(family.name, { ms: spent.ms + performance.now() - started, samples: spent.samples + samples })
      runs.set(key, run)
    }
    return run
  }
  const fileScores = <P>(family: BenchFamily<P>, params: P): ReadonlyArray<FileScore> => {
    const key = `${family.name}\n${JSON.stringify(params)}`
    let files = scored.get(key)
    if (files === undefined) {
      const run = scores(family, params)
      files = prepared.map((p, i) => scoreFile(p, run[i]!, family.threshold(params), standardProfile))
      scored.set(key, files)
    }
    return files
  }
  const microsPerSample = (family: string): number => {
    const spent = time.get(family)!
    return 1000 * spent.ms / spent.samples
  }
  return { scores, fileScores, microsPerSample }
}

export const crossValidate = (
  prepared: ReadonlyArray<PreparedSeries>,
  run: Runs,
  families: ReadonlyArray<BenchFamily<any>>
): CrossValidationResult => {
  const categories = [...new Set(prepared.map((p) => categoryOf(p.name)))].sort()
  const members = (category: string) => prepared.flatMap((p, i) => (categoryOf(p.name) === category ? [i] : []))
  const subset = (files: ReadonlyArray<FileScore>, indices: ReadonlyArray<number>): SubsetScore => {
    const pick = (f: (s: FileScore) => number) => sum(indices.map((i) => f(files[i]!)))
    const raw = pick((s) => s.raw)
    const bounds = corpusBounds(indices.map((i) => prepared[i]!), standardProfile)
    return {
      score: bounds.perfectScore > 0 ? normalize(raw, bounds) : undefined,
      raw,
      tp: pick((s) => s.tp),
      fp: pick((s) => s.fp),
      fn: pick((s) => s.fn)
    }
  }
  const byCategory = (files: ReadonlyArray<FileScore>): ReadonlyArray<CategoryScore> =>
    categories.map((category) => ({ category, ...subset(files, members(category)) }))

  const report = <P>(family: BenchFamily<P>): FamilyReport => {
    const folds = categories.map((heldOut) => {
      const training = prepared.flatMap((p, i) => (categoryOf(p.name) === heldOut ? [] : [i]))
      let chosen: P = family.grid[0]!
      let best = Number.NEGATIVE_INFINITY
      for (const params of family.grid) {
        const score = subset(run.fileScores(family, params), training).score ?? Number.NEGATIVE_INFINITY
        if (score > best) {
          best = score
          chosen = params
        }
      }
      return { heldOut, params: chosen, training: best }
    })
    const foldOf = (i: number) => folds.find((f) => f.heldOut === categoryOf(prepared[i]!.name))!.params
    const pooledScores = prepared.map((_, i) => run.scores(family, foldOf(i))[i]!)
    const detections = pooledScores.map((s, i) => {
      const threshold = family.threshold(foldOf(i))
      return s.map((x) => (x >= threshold ? 1 : 0))
    })
    const pooledFiles = prepared.map((_, i) => run.fileScores(family, foldOf(i))[i]!)
    const shippedScores = run.scores(family, family.shipped)
    const shippedFiles = run.fileScores(family, family.shipped)
    return {
      family: family.name,
      shipped: family.describe(family.shipped),
      tunings: family.grid.length,
      development: {
        best: sweep(prepared, shippedScores, standardProfile),
        atDefault: subset(shippedFiles, prepared.map((_, i) => i)).score!,
        defaultThreshold: family.threshold(family.shipped)
      },
      folds: folds.map((f) => ({
        heldOut: f.heldOut,
        tuning: family.describe(f.params),
        threshold: family.threshold(f.params),
        training: f.training,
        test: subset(run.fileScores(family, f.params), members(f.heldOut))
      })),
      crossValidated: {
        atDefault: scoreCorpus(prepared, detections, 0.5, standardProfile).score,
        best: sweep(prepared, pooledScores, standardProfile)
      },
      categories: byCategory(shippedFiles),
      files: prepared.map((p, i) => ({ name: p.name, development: shippedFiles[i]!, crossValidated: pooledFiles[i]! })),
      microsPerSample: run.microsPerSample(family.name)
    }
  }
  const reports = families.map(report)

  const sensitivity = metricAxes.flatMap((axis: Axis) =>
    axis.values.map((value): SensitivityRow => {
      const files = run.fileScores(metricFamily, metricVariant(axis, value))
      return {
        axis: axis.name,
        value,
        shipped: value === axis.shipped,
        atDefault: subset(files, prepared.map((_, i) => i)).score!,
        categories: byCategory(files)
      }
    })
  )
  return { categories, families: reports, sensitivity }
}
