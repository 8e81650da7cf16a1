/**
 * SQL normalisation: one query shape, one text and one operation name, with
 * no value of the query left in it. Literals (strings, numbers, hex and bit
 * strings, dollar-quoted bodies) become `?`, lists of placeholders fold into
 * `(?)`, repeated `VALUES` rows into one, comments go and whitespace folds.
 *
 * `TRUE`, `FALSE` and `NULL` stay: they are keywords that change the shape of
 * a query (`IS NULL`), not values that could leak. Double-quoted and
 * back-quoted text is read as an identifier, as standard SQL, PostgreSQL and
 * SQLite read it; a MySQL server that treats `"..."` as a string would leak
 * such strings into the text.
 *
 * PostgreSQL (`db.system.name` `postgresql`) reads a plain string as the
 * standard does, with `standard_conforming_strings` on, its default since
 * 9.1: a backslash is a character, not an escape (only `E'...'` escapes),
 * and block comments nest. Other systems get MySQL's reading, where a
 * backslash escapes in every string. Reading a string the wrong way would
 * end it early or late, and leak what follows.
 *
 * The normaliser is a tokenizer, not a parser: it accepts any input without
 * throwing, and a second pass over its output changes nothing.
 *
 * @since 0.1.0
 */

type TokenKind = "word" | "quoted" | "placeholder" | "literal" | "punct"

interface Token {
  readonly kind: TokenKind
  readonly text: string
  /** Whitespace or a comment came before the token. */
  readonly spaced: boolean
}

const isSpace = (c: string) => /\s/.test(c)
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9"
const isWordStart = (c: string | undefined) => c !== undefined && /[\p{L}_]/u.test(c)
const isWordPart = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_$]/u.test(c)
const isHex = (c: string | undefined) => c !== undefined && /[0-9a-fA-F]/.test(c)

/** One-letter prefixes of string literals: E'..' (escapes), N'..' (national), X'..' (hex), B'..' (bits). */
const stringPrefixes = new Set(["e", "n", "x", "b", "E", "N", "X", "B"])

/** How a database system reads strings and comments. */
interface Dialect {
  readonly backslashEscapes: boolean
  readonly nestedComments: boolean
}

const postgres: Dialect = { backslashEscapes: false, nestedComments: true }
const generic: Dialect = { backslashEscapes: true, nestedComments: false }

const dialectOf = (system: string | undefined): Dialect => system === "postgresql" ? postgres : generic

/** The end of a block comment that opens at `from`, nested ones included when the dialect nests them. */
const commentEnd = (sql: string, from: number, nested: boolean): number => {
  if (!nested) {
    const end = sql.indexOf("*/", from + 2)
    return end < 0 ? sql.length : end + 2
  }
  let depth = 0
  let j = from
  while (j < sql.length) {
    if (sql[j] === "/" && sql[j + 1] === "*") {
      depth++
      j += 2
    } else if (sql[j] === "*" && sql[j + 1] === "/") {
      depth--
      j += 2
      if (depth === 0) return j
    } else j++
  }
  return sql.length
}

const tokenize = (sql: string, dialect: Dialect): Array<Token> => {
  const tokens: Array<Token> = []
  const n = sql.length
  let i = 0
  let spaced = false
  const push = (kind: TokenKind, text: string) => {
    tokens.push({ kind, text, spaced })
    spaced = false
  }
  // A quoted run ending at `quote`, where a doubled quote (and, for strings, a
  // backslash) escapes; unterminated runs end with the input.
  const skipQuoted = (from: number, quote: string, backslash: boolean): number => {
    let j = from + 1
    while (j < n) {
      const c = sql[j]!
      if (backslash && c === "\\") {
        j += 2
        continue
      }
      if (c === quote) {
        if (sql[j + 1] === quote) {
          j += 2
          continue
        }
        return j + 1
      }
      j++
    }
    return n
  }
  while (i < n) {
    const c = sql[i]!
    const next = sql[i + 1]
    if (isSpace(c)) {
      spaced = true
      i++
    } else if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i)
      i = end < 0 ? n : end
      spaced = true
    } else if (c === "/" && next === "*") {
      i = commentEnd(sql, i, dialect.nestedComments)
      spaced = true
    } else if (c === "'") {
      i = skipQuoted(i, "'", dialect.backslashEscapes)
      push("literal", "?")
    } else if (c === "\"" || c === "`") {
      const end = skipQuoted(i, c, false)
      push("quoted", sql.slice(i, end))
      i = end
    } else if (c === "$" && isDigit(next)) {
      let j = i + 1
      while (isDigit(sql[j])) j++
      push("placeholder", sql.slice(i, j))
      i = j
    } else if (c === "$" && (next === "$" || isWordStart(next))) {
      // A dollar-quoted body, $tag$ ... $tag$, when the tag closes; else a lone `$`.
      let j = i + 1
      while (j < n && isWordPart(sql[j]) && sql[j] !== "$") j++
      if (sql[j] === "$") {
        const tag = sql.slice(i, j + 1)
        const end = sql.indexOf(tag, j + 1)
        i = end < 0 ? n : end + tag.length
        push("literal", "?")
      } else {
        push("punct", "$")
        i++
      }
    } else if (c === "?") {
      let j = i + 1
      while (isDigit(sql[j])) j++
      push("placeholder", sql.slice(i, j))
      i = j
    } else if (c === ":" && next === ":") {
      push("punct", "::")
      i += 2
    } else if ((c === ":" || c === "@") && isWordStart(next)) {
      let j = i + 1
      while (isWordPart(sql[j])) j++
      push("placeholder", sql.slice(i, j))
      i = j
    } else if (isDigit(c) || (c === "." && isDigit(next))) {
      let j = i
      if (c === "0" && (next === "x" || next === "X") && isHex(sql[i + 2])) {
        j += 2
        while (isHex(sql[j])) j++
      } else {
        j = skipDigits(sql, j)
        if (sql[j] === "." && isDigit(sql[j + 1])) {
          j = skipDigits(sql, j + 1)
        } else if (sql[j] === "." && !isWordStart(sql[j + 1])) {
          j++
        }
        if (
          (sql[j] === "e" || sql[j] === "E") &&
          (isDigit(sql[j + 1]) || (/[+-]/.test(sql[j + 1] ?? "") && isDigit(sql[j + 2])))
        ) {
          j += 2
          while (isDigit(sql[j])) j++
        }
      }
      push("literal", "?")
      i = j
    } else if (isWordStart(c)) {
      let j = i + 1
      while (isWordPart(sql[j])) j++
      if (j === i + 1 && stringPrefixes.has(c) && sql[j] === "'") {
        // E'..' escapes with a backslash everywhere; the others as the dialect's plain strings.
        i = skipQuoted(j, "'", c === "e" || c === "E" || dialect.backslashEscapes)
        push("literal", "?")
      } else {
        push("word", sql.slice(i, j))
        i = j
      }
    } else {
      push("punct", c)
      i++
    }
  }
  return foldLists(tokens)
}

/** A run of digits, with PostgreSQL 16's `_` separators between them (`1_000_000`). */
const skipDigits = (sql: string, from: number): number => {
  let j = from
  while (isDigit(sql[j]) || (sql[j] === "_" && isDigit(sql[j - 1]) && isDigit(sql[j + 1]))) j++
  return j
}

const isValue = (t: Token | undefined) => t !== undefined && (t.kind === "literal" || t.kind === "placeholder")

/**
 * `(?, ?, $1)` and `ARRAY[?, ?]` become `(?)` and `ARRAY[?]`, and a run of identical parenthesised groups
 * separated by commas (multi-row `VALUES`) becomes its first group, so that
 * the number of values never makes a new shape.
 */
const foldLists = (tokens: Array<Token>): Array<Token> => {
  const out: Array<Token> = []
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    const close = t.kind !== "punct" ? undefined : t.text === "(" ? ")" : t.text === "[" ? "]" : undefined
    if (close !== undefined && isValue(tokens[i + 1])) {
      let j = i + 2
      while (tokens[j]?.text === "," && isValue(tokens[j + 1])) j += 2
      if (tokens[j]?.text === close && tokens[j]!.kind === "punct") {
        out.push(t, { kind: "literal", text: "?", spaced: false }, { ...tokens[j]!, spaced: false })
        i = j
        continue
      }
    }
    out.push(t)
  }
  // Repeated groups: `(?), (?), (?)` -> `(?)`.
  const folded: Array<Token> = []
  for (let i = 0; i < out.length; i++) {
    const t = out[i]!
    folded.push(t)
    if (t.text === ")" && t.kind === "punct") {
      const group = groupBefore(folded)
      if (group === undefined || !group.every(isRowPart)) continue
      while (
        out[i + 1]?.text === "," &&
        group.every((g, k) => out[i + 2 + k]?.text === g.text && out[i + 2 + k]?.kind === g.kind)
      ) i += 1 + group.length
    }
  }
  return folded
}

const rowWords = new Set(["NULL", "DEFAULT", "TRUE", "FALSE"])

/** What a row of `VALUES` holds once normalised. */
const isRowPart = (t: Token): boolean =>
  isValue(t) || (t.kind === "punct" && (t.text === "(" || t.text === ")" || t.text === ",")) ||
  (t.kind === "word" && rowWords.has(t.text.toUpperCase()))

/** The balanced group that `tokens` ends with, `(` to `)`. */
const groupBefore = (tokens: ReadonlyArray<Token>): ReadonlyArray<Token> | undefined => {
  let depth = 0
  for (let k = tokens.length - 1; k >= 0; k--) {
    const t = tokens[k]!
    if (t.kind !== "punct") continue
    if (t.text === ")") depth++
    else if (t.text === "(") {
      depth--
      if (depth === 0) return tokens.slice(k)
    }
  }
  return undefined
}

const render = (tokens: ReadonlyArray<Token>): string => {
  let out = ""
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!
    const previous = tokens[i - 1]
    if (previous !== undefined) {
      const tight = t.text === "," || t.text === ")" || t.text === "]" || previous.text === "(" ||
        previous.text === "["
      if (previous.text === ",") out += " "
      else if (t.spaced && !tight) out += " "
      else if (needsSeparator(previous, t)) out += " "
    }
    out += t.text
  }
  return out
}

/**
 * Two tokens that would read as one once printed side by side (a word and
 * the word that a removed comment separated, a placeholder and the digits
 * after it) keep a space between them.
 */
const needsSeparator = (a: Token, b: Token): boolean => {
  const last = a.text[a.text.length - 1]
  const first = b.text[0]
  if (a.kind === "placeholder" || a.kind === "literal") return isWordPart(first) || first === "?"
  if (a.kind === "word") return isWordPart(first)
  if (last === "-" && first === "-") return true
  if (last === "/" && first === "*") return true
  if (last === "$" && (first === "$" || isWordPart(first))) return true
  if ((a.text === ":" || a.text === "@") && isWordPart(first)) return true
  return false
}

/**
 * The normalised text of a query, read in the dialect of `system` (its
 * `db.system.name`; see the module documentation).
 *
 * @example
 * ```ts
 * normalize("SELECT * FROM users WHERE id IN (1, 2, 3) AND name = 'ada' -- note")
 * // "SELECT * FROM users WHERE id IN (?) AND name = ?"
 * ```
 *
 * @category normalisation
 * @since 0.1.0
 */
export const normalize = (sql: string, system?: string): string => render(tokenize(sql, dialectOf(system)))

/**
 * The shape of a query: its normalised text, its statement kind (`SELECT`,
 * `INSERT`, ..., or `QUERY` when unknown) and the table it works on, if one
 * can be read.
 *
 * @category models
 * @since 0.1.0
 */
export interface QueryShape {
  readonly text: string
  readonly statement: string
  readonly table: string | undefined
  /** `statement` and `table`, as in `SELECT users`: a bounded operation name. */
  readonly operationName: string
}

const statements = new Set([
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "MERGE",
  "UPSERT",
  "REPLACE",
  "CREATE",
  "ALTER",
  "DROP",
  "TRUNCATE",
  "BEGIN",
  "START",
  "COMMIT",
  "ROLLBACK",
  "SAVEPOINT",
  "RELEASE",
  "SET",
  "SHOW",
  "EXPLAIN",
  "ANALYZE",
  "VACUUM",
  "CALL",
  "EXEC",
  "EXECUTE",
  "GRANT",
  "REVOKE",
  "LOCK",
  "COPY",
  "PRAGMA",
  "VALUES"
])

const cteBodies = new Set(["SELECT", "INSERT", "UPDATE", "DELETE", "MERGE"])

/** After which keyword each statement names its table. */
const tableAfter: Record<string, ReadonlyArray<string>> = {
  SELECT: ["FROM"],
  DELETE: ["FROM"],
  INSERT: ["INTO"],
  REPLACE: ["INTO"],
  UPSERT: ["INTO"],
  MERGE: ["INTO"],
  UPDATE: [],
  TRUNCATE: [],
  COPY: [],
  LOCK: [],
  CREATE: ["TABLE", "VIEW", "INDEX", "SEQUENCE", "SCHEMA", "DATABASE", "TYPE", "FUNCTION"],
  ALTER: ["TABLE", "VIEW", "INDEX", "SEQUENCE", "SCHEMA", "DATABASE", "TYPE", "FUNCTION"],
  DROP: ["TABLE", "VIEW", "INDEX", "SEQUENCE", "SCHEMA", "DATABASE", "TYPE", "FUNCTION"]
}

const skippedWords = new Set([
  "TABLE",
  "ONLY",
  "IF",
  "NOT",
  "EXISTS",
  "LOW_PRIORITY",
  "DELAYED",
  "HIGH_PRIORITY",
  "IGNORE",
  "QUICK",
  "TEMPORARY",
  "TEMP",
  "UNIQUE",
  "OR",
  "REPLACE",
  "CONCURRENTLY",
  "INTO"
])

const maxTableLength = 64

const identifierOf = (
  t: Token
): string => (t.kind === "quoted"
  ? t.text.slice(1, t.text.endsWith(t.text[0]!) && t.text.length > 1 ? -1 : undefined)
  : t.text)

/** A table name fit for a label: identifier characters only, bounded length. */
const cleanTable = (name: string): string | undefined => {
  const cleaned = name.replace(/[^\p{L}\p{N}_$.]/gu, "_").slice(0, maxTableLength)
  return cleaned === "" ? undefined : cleaned
}

const readTable = (tokens: ReadonlyArray<Token>, from: number): string | undefined => {
  let i = from
  while (tokens[i]?.kind === "word" && skippedWords.has(tokens[i]!.text.toUpperCase())) i++
  const first = tokens[i]
  if (first === undefined || (first.kind !== "word" && first.kind !== "quoted")) return undefined
  let name = identifierOf(first)
  // schema.table
  while (tokens[i + 1]?.text === "." && (tokens[i + 2]?.kind === "word" || tokens[i + 2]?.kind === "quoted")) {
    name += "." + identifierOf(tokens[i + 2]!)
    i += 2
  }
  return cleanTable(name)
}

/**
 * Reads the shape of a query, in the dialect of `system` (its
 * `db.system.name`).
 *
 * @example
 * ```ts
 * shape("select id from public.users where email = 'a@b.c'").operationName // "SELECT public.users"
 * ```
 *
 * @category normalisation
 * @since 0.1.0
 */
export const shape = (sql: string, system?: string): QueryShape => {
  const tokens = tokenize(sql, dialectOf(system))
  const text = render(tokens)
  let start = 0
  let statement = "QUERY"
  let first = 0
  while (tokens[first]?.kind === "punct" && tokens[first]!.text === "(") first++
  const leading = tokens[first]
  if (leading?.kind === "word") {
    const word = leading.text.toUpperCase()
    if (statements.has(word)) {
      statement = word
      start = first + 1
    } else if (word === "WITH") {
      // WITH name AS (...), ... <statement>: the first top-level statement keyword after the CTEs.
      let depth = 0
      for (let i = first + 1; i < tokens.length; i++) {
        const t = tokens[i]!
        if (t.kind === "punct") {
          if (t.text === "(") depth++
          else if (t.text === ")") depth = Math.max(0, depth - 1)
        } else if (depth === 0 && t.kind === "word" && cteBodies.has(t.text.toUpperCase())) {
          statement = t.text.toUpperCase()
          start = i + 1
          break
        }
      }
    }
  }
  let table: string | undefined
  const after = tableAfter[statement]
  if (after !== undefined) {
    let depth = 0
    if (after.length === 0) table = readTable(tokens, start)
    else {
      for (let i = start; i < tokens.length; i++) {
        const t = tokens[i]!
        if (t.kind === "punct") {
          if (t.text === "(") depth++
          else if (t.text === ")") depth = Math.max(0, depth - 1)
        } else if (depth === 0 && t.kind === "word" && after.includes(t.text.toUpperCase())) {
          table = readTable(tokens, i + 1)
          break
        }
      }
    }
  }
  return { text, statement, table, operationName: table === undefined ? statement : `${statement} ${table}` }
}

/**
 * The operation name of a query, `SELECT users`: a bounded name that holds no
 * value of the query.
 *
 * @category normalisation
 * @since 0.1.0
 */
export const operationName = (sql: string, system?: string): string => shape(sql, system).operationName
