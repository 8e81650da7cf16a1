/**
 * The `@example` blocks of every package's doc comments compile, so that an API change cannot leave a
 * documented use behind. One test for the three packages, because an example is checked the way a user
 * would write it: against the package's public entry points, with the options its sources compile with.
 *
 * Each ```ts block under `@example` becomes a module of its own, placed in the package so that
 * `@mcp-apm/*` and `effect` resolve as they do for the package, and prefixed with a prelude: the names
 * the package's index exports, the exports of the example's own module (when it is a public one), the
 * common `effect` modules, and a `declare` for each free name the example uses but does not declare
 * (`performLogin`, `cart`, ...). An example that uses `yield*` outside a generator is the body of an
 * `Effect.gen`. A diagnostic names the source file and line of the example.
 */
import { assert, describe, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")

const effectModules = ["Context", "Data", "Duration", "Effect", "Layer", "Option", "Schema"]

/** What examples leave to the reader: things of the user's program, typed as an example means them. */
const stubs: Record<string, string> = {
  Cart: "interface Cart { readonly total: number }",
  charge: "declare const charge: (cart: Cart) => Effect.Effect<string>",
  performLogin: "declare const performLogin: Effect.Effect<{ readonly id: string }, Error>",
  callClaude: "declare const callClaude: (prompt: string) => Effect.Effect<string, Error>",
  prompt: "declare const prompt: string",
  runGit: "declare const runGit: (args: ReadonlyArray<string>) => Effect.Effect<string, Error>",
  lint: "declare const lint: Effect.Effect<void, Error>",
  tests: "declare const tests: Effect.Effect<void, Error>",
  fetch: "declare const fetch: Effect.Effect<void, Error>",
  build: "declare const build: Effect.Effect<void, Error>"
}

interface Example {
  /** The source file, relative to the repository. */
  readonly file: string
  /** The line of the source file the example's first line is on (1-based). */
  readonly line: number
  readonly code: string
}

/** Every ```ts block under an `@example` tag of the doc comments of `text`. */
const examplesOf = (file: string, text: string): Array<Example> => {
  const examples: Array<Example> = []
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, comment.index).split("\n").length
    const lines = comment[0].split("\n").map((line) => line.replace(/^\s*(\/\*\*|\*\/|\*)? ?/, ""))
    let inExample = false
    for (let i = 0; i < lines.length; i++) {
      if (/^@example\b/.test(lines[i]!)) inExample = true
      else if (/^@\w/.test(lines[i]!)) inExample = false
      else if (inExample && /^```(ts|typescript)\s*$/.test(lines[i]!)) {
        const end = lines.findIndex((line, j) => j > i && line.startsWith("```"))
        if (end === -1) throw new Error(`${file}:${firstLine + i}: an @example block is never closed`)
        examples.push({ file, line: firstLine + i + 1, code: lines.slice(i + 1, end).join("\n") })
        i = end
      }
    }
  }
  return examples
}

const sourcesOf = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(dir, name))

const compilerOptions = (packageDir: string): ts.CompilerOptions => {
  const srcConfig = join(packageDir, "tsconfig.src.json")
  const config = existsSync(srcConfig) ? srcConfig : join(packageDir, "tsconfig.json")
  const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  if (parsed === undefined) throw new Error(`cannot read ${config}`)
  // An example shows a use, and names what it makes without using it again.
  return {
    ...parsed.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
    composite: false,
    declaration: false,
    incremental: false
  }
}

/** Source files parsed once for the three programs: effect's declarations are most of the work. */
const parsed = new Map<string, ts.SourceFile | undefined>()

const program = (options: ts.CompilerOptions, roots: Array<string>, virtual: ReadonlyMap<string, string>) => {
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.fileExists = (name) => virtual.has(name) || ts.sys.fileExists(name)
  host.readFile = (name) => virtual.get(name) ?? ts.sys.readFile(name)
  host.getSourceFile = (name, languageVersion, onError) => {
    const text = virtual.get(name)
    if (text !== undefined) return ts.createSourceFile(name, text, languageVersion)
    const key = `${name}\0${JSON.stringify(languageVersion)}`
    if (!parsed.has(key)) parsed.set(key, getSourceFile(name, languageVersion, onError))
    return parsed.get(key)
  }
  return ts.createProgram({ rootNames: roots, options, host })
}

/** The names `file` exports, as import specifiers: `type X` for a type only (`verbatimModuleSyntax`). */
const exportedNames = (checker: ts.TypeChecker, file: ts.SourceFile | undefined): Array<string> => {
  const module = file === undefined ? undefined : checker.getSymbolAtLocation(file)
  if (module === undefined) return []
  return checker.getExportsOfModule(module).filter((symbol) => symbol.name !== "default").map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
    return target.flags & ts.SymbolFlags.Value ? symbol.name : `type ${symbol.name}`
  })
}

const nameOf = (specifier: string) => specifier.replace(/^type /, "")

/**
 * Compiles the examples of the package at `packageDir` (`packages/core`, ...) and returns one line per
 * diagnostic, `file:line: message`. `overrides` replaces or adds source files by absolute path.
 */
const checkExamples = (packageDir: string, overrides: ReadonlyMap<string, string> = new Map()) => {
  const dir = join(root, packageDir)
  const src = join(dir, "src")
  const packageName = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name as string
  const files = [...new Set([...sourcesOf(src), ...overrides.keys()])]
  const examples = files.flatMap((file) =>
    examplesOf(relative(root, file), overrides.get(file) ?? readFileSync(file, "utf8")).map((example) => ({
      ...example,
      module: file
    }))
  )
  const options = compilerOptions(dir)
  const index = join(src, "index.ts")
  const publicModules = examples.map((e) => e.module).filter((m) => dirname(m) === src && m !== index)
  const first = program(options, [index, ...publicModules], overrides)
  const checker = first.getTypeChecker()
  const indexNames = exportedNames(checker, first.getSourceFile(index))

  const virtual = new Map(overrides)
  const failures: Array<string> = []
  const locations = new Map<string, { readonly example: Example; readonly preludeLines: number }>()
  examples.forEach((example, n) => {
    const imported = new Set(indexNames.map(nameOf))
    const moduleNames = publicModules.includes(example.module)
      ? exportedNames(checker, first.getSourceFile(example.module)).filter((name) => !imported.has(nameOf(name)))
      : []
    moduleNames.forEach((name) => imported.add(nameOf(name)))
    const effectNames = effectModules.filter((name) => !imported.has(name))
    const declares = (name: string) =>
      new RegExp(`(const|let|class|interface|type|function)\\s+${name}\\b|declare\\s.*\\b${name}\\b`).test(example.code)
    const prelude = [
      `import { ${indexNames.join(", ")} } from "${packageName}"`,
      ...(moduleNames.length > 0
        ? [`import { ${moduleNames.join(", ")} } from "${packageName}/${relative(src, example.module).slice(0, -3)}"`]
        : []),
      `import { ${effectNames.join(", ")} } from "effect"`,
      ...Object.entries(stubs)
        .filter(([name]) => new RegExp(`\\b${name}\\b`).test(example.code) && !declares(name))
        .map(([, stub]) => stub)
    ]
    const generator = /\byield\*/.test(example.code) && !/function\s*\*/.test(example.code)
    if (generator) prelude.push("export const example = Effect.gen(function*() {")
    const path = join(dir, `__example${n}__.ts`)
    virtual.set(path, [...prelude, example.code, ...(generator ? ["})"] : []), "export {}"].join("\n"))
    locations.set(path, { example, preludeLines: prelude.length })
  })

  const second = program(options, [...locations.keys()], virtual)
  for (const [path, { example, preludeLines }] of locations) {
    const file = second.getSourceFile(path)!
    for (const diagnostic of [...second.getSyntacticDiagnostics(file), ...second.getSemanticDiagnostics(file)]) {
      const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
      const at = line < preludeLines ? `${example.line} (the prelude)` : `${example.line + line - preludeLines}`
      failures.push(`${example.file}:${at}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`)
    }
  }
  return { examples: examples.length, failures }
}

describe("@example blocks", () => {
  for (const packageDir of ["packages/core", "packages/services", "packages/runtime"]) {
    it(`compile in ${packageDir}`, () => {
      const { examples, failures } = checkExamples(packageDir)
      assert.isAbove(examples, 0)
      assert.deepStrictEqual(failures, [])
    }, 60_000)
  }

  it("fail naming the file, the line and the diagnostic", () => {
    const probe = join(root, "packages/core/src/Probe.ts")
    const text = [
      "/**",
      " * Traces.",
      " *",
      " * @example",
      " * ```ts",
      " * const fine = Effect.succeed(1).pipe(Apm.trace(\"ok\", \"http_request\"))",
      " * const wrong = Effect.succeed(1).pipe(Apm.trace(\"bad\", \"no_such_type\"))",
      " * ```",
      " */",
      "export const probe = 1",
      ""
    ].join("\n")
    const { examples, failures } = checkExamples("packages/core", new Map([[probe, text]]))
    const ours = failures.filter((failure) => failure.startsWith("packages/core/src/Probe.ts"))
    assert.isAbove(examples, 1)
    assert.strictEqual(ours.length, 1)
    assert.match(ours[0]!, /^packages\/core\/src\/Probe\.ts:7: Argument of type '"no_such_type"'/)
  }, 60_000)

  it("read only ts blocks under @example", () => {
    const text = "/**\n * ```ts\n * not an example\n * ```\n * @example\n * ```ts\n * one\n * ```\n * @since 1\n */"
    assert.deepStrictEqual(examplesOf("f.ts", text), [{ file: "f.ts", line: 7, code: "one" }])
  })
})
