import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { normalize, operationName, shape } from "../src/QueryNormalizer.ts"

// Fragments that stress the tokenizer's edges: quotes, comments, dollar quotes, placeholders, numbers.
const fragment = fc.constantFrom(
  "SELECT",
  "FROM",
  "IN",
  "VALUES",
  " ",
  "\n",
  "\t",
  "'",
  "\"",
  "`",
  "--",
  "/*",
  "*/",
  "$",
  "$$",
  "$a$",
  "$1",
  "?",
  "?7",
  ":",
  "::",
  ":name",
  "@",
  "@@",
  "0x",
  "0xFF",
  "1",
  "42",
  ".",
  "e",
  "E",
  "+",
  "-",
  "(",
  ")",
  ",",
  "\\",
  "E'",
  "X'",
  "a",
  "users",
  "NULL",
  "é",
  "😀",
  "\u00a0"
)
const sqlish = fc.array(fragment, { maxLength: 40 }).map((parts) => parts.join(""))

// Identifiers without digits, so that any digit in the output would be a leaked number.
const identifier = fc.constantFrom("users", "orders", "id", "name", "email", "status", "amount", "\"Order Items\"")
const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`
const literal = fc.oneof(
  fc.string({ unit: "binary" }).map(quote),
  fc.nat().map(String),
  fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }).map((n) => String(Math.abs(n))),
  fc.integer({ min: 0 }).map((n) => `0x${n.toString(16)}`),
  fc.string({ unit: "binary" }).filter((s) => !s.includes("$q$")).map((s) => `$q$${s}$q$`)
)
const comment = fc.oneof(
  fc.string({ unit: "binary" }).filter((s) => !s.includes("*/")).map((s) => `/*${s}*/`),
  fc.string({ unit: "binary" }).filter((s) => !/[\n]/.test(s)).map((s) => `--${s}\n`)
)

/** A query whose literals and comments are holes, filled by `fill`. */
const template = fc.record({
  table: identifier,
  column: identifier,
  other: identifier,
  inCount: fc.integer({ min: 1, max: 6 }),
  rows: fc.integer({ min: 1, max: 4 })
})
const render = (
  t: { table: string; column: string; other: string; inCount: number; rows: number },
  lit: () => string,
  note: () => string
) =>
  `SELECT ${t.column}, ${t.other} FROM ${t.table} ${note()} WHERE ${t.column} = ${lit()} AND ${t.other} IN (${
    Array.from({ length: t.inCount }, lit).join(", ")
  }) OR ${t.other} > ${lit()}; INSERT INTO ${t.table} (${t.column}) VALUES ${
    Array.from({ length: t.rows }, () => `(${lit()})`).join(", ")
  } ${note()}`

describe("QueryNormalizer", () => {
  it("replaces literals, folds lists and whitespace, removes comments", () => {
    assert.strictEqual(
      normalize(
        "SELECT *\n  FROM users WHERE id IN (1, 2,3) AND name = 'ada' -- who\n AND x = 0x1F /* c */ AND y = 1.5e3"
      ),
      "SELECT * FROM users WHERE id IN (?) AND name = ? AND x = ? AND y = ?"
    )
    assert.strictEqual(normalize("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')"), "INSERT INTO t (a, b) VALUES (?)")
    assert.strictEqual(normalize("SELECT E'it\\'s', $$body$$, $tag$x$tag$ FROM t"), "SELECT ?, ?, ? FROM t")
    assert.strictEqual(
      normalize("UPDATE t SET a = $1, b = :b, c = ? WHERE d IS NULL AND e = TRUE"),
      "UPDATE t SET a = $1, b = :b, c = ? WHERE d IS NULL AND e = TRUE"
    )
    assert.strictEqual(normalize("SELECT x::int FROM t"), "SELECT x::int FROM t")
    assert.strictEqual(normalize("SELECT 'unterminated"), "SELECT ?")
  })

  it("names the operation by statement and table", () => {
    assert.strictEqual(operationName("select * from users where id = 1"), "SELECT users")
    assert.strictEqual(
      operationName("SELECT id FROM public.\"Users\" u JOIN orders o ON o.u = u.id"),
      "SELECT public.Users"
    )
    assert.strictEqual(operationName("INSERT INTO orders (id) VALUES (1)"), "INSERT orders")
    assert.strictEqual(operationName("UPDATE ONLY accounts SET x = 1"), "UPDATE accounts")
    assert.strictEqual(operationName("DELETE FROM sessions WHERE expired"), "DELETE sessions")
    assert.strictEqual(operationName("WITH recent AS (SELECT * FROM events) DELETE FROM logs"), "DELETE logs")
    assert.strictEqual(operationName("CREATE TABLE IF NOT EXISTS audit (id int)"), "CREATE audit")
    assert.strictEqual(operationName("SELECT 1"), "SELECT")
    assert.strictEqual(operationName("BEGIN"), "BEGIN")
    assert.strictEqual(operationName("frobnicate the database"), "QUERY")
    assert.strictEqual(operationName(""), "QUERY")
    const s = shape("SELECT * FROM `weird table!` WHERE a = 'secret'")
    assert.strictEqual(s.table, "weird_table_")
    assert.notInclude(s.text, "secret")
  })

  it("accepts any input without throwing, and returns a string", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), sqlish), (input) => {
        assert.isString(normalize(input))
        assert.isString(shape(input).operationName)
      }),
      { numRuns: 2000 }
    )
  })

  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), sqlish), (input) => {
        const once = normalize(input)
        assert.strictEqual(normalize(once), once, JSON.stringify(input))
      }),
      { numRuns: 5000 }
    )
  })

  it("never returns a string or number literal (or comment) of its input", () => {
    fc.assert(
      fc.property(
        template,
        fc.array(literal, { minLength: 20, maxLength: 20 }),
        fc.array(comment, { minLength: 2, maxLength: 2 }),
        (t, lits, notes) => {
          let l = 0
          let n = 0
          const query = render(t, () => lits[l++ % lits.length]!, () => notes[n++]!)
          const normalised = normalize(query)
          // The output does not depend on the values: the same query with other values normalises alike.
          assert.strictEqual(normalised, normalize(render(t, () => "0", () => "")), query)
          assert.notMatch(normalised, /['\d]/)
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("operation names stay bounded and value-free", () => {
    fc.assert(
      fc.property(template, fc.array(literal, { minLength: 20, maxLength: 20 }), (t, lits) => {
        let l = 0
        const name = operationName(render(t, () => lits[l++ % lits.length]!, () => ""))
        assert.strictEqual(name, operationName(render(t, () => "0", () => "")))
        assert.isAtMost(name.length, 80)
      }),
      { numRuns: 300 }
    )
  })

  describe("PostgreSQL dialect", () => {
    const pg = (sql: string) => normalize(sql, "postgresql")

    it("reads plain strings with a backslash as a character, E'...' with backslash escapes", () => {
      // With standard_conforming_strings a backslash ends nothing: 'C:\' is a whole string.
      assert.strictEqual(
        pg("SELECT * FROM t WHERE a = 'C:\\' AND b = 'secret'"),
        "SELECT * FROM t WHERE a = ? AND b = ?"
      )
      assert.strictEqual(pg("SELECT E'it\\'s', e'\\\\', 'it''s' FROM t"), "SELECT ?, ?, ? FROM t")
      assert.strictEqual(pg("SELECT U&'d\\0061t' UESCAPE '!' FROM t"), "SELECT U&? UESCAPE ? FROM t")
    })

    it("removes dollar-quoted bodies whatever they hold, and keeps $1 parameters", () => {
      assert.strictEqual(
        pg("SELECT $fn$ it's $1 -- $$ $fn$, $$a'b$$ FROM t WHERE id = $1"),
        "SELECT ?, ? FROM t WHERE id = $1"
      )
      assert.strictEqual(pg("SELECT * FROM t WHERE a = $1 AND b = $12"), "SELECT * FROM t WHERE a = $1 AND b = $12")
    })

    it("keeps casts, folds arrays and IN lists, reads 1_000 as one number", () => {
      assert.strictEqual(
        pg("SELECT '5'::int, x::text[], CAST('7' AS bigint) FROM t"),
        "SELECT ?::int, x::text[], CAST(? AS bigint) FROM t"
      )
      assert.strictEqual(
        pg("SELECT * FROM t WHERE id = ANY(ARRAY[1, 2, 3]) AND tags && '{a,b}'"),
        "SELECT * FROM t WHERE id = ANY(ARRAY[?]) AND tags && ?"
      )
      assert.strictEqual(pg("SELECT * FROM t WHERE id IN ($1, $2, $3)"), "SELECT * FROM t WHERE id IN (?)")
      assert.strictEqual(pg("SELECT 1_000_000, 1.5e-3, .5 FROM t"), "SELECT ?, ?, ? FROM t")
    })

    it("removes nested block comments and line comments", () => {
      assert.strictEqual(pg("SELECT /* outer /* inner 'x' */ secret */ a FROM t -- bye 'y'"), "SELECT a FROM t")
      // Other systems do not nest: the first */ ends the comment.
      assert.strictEqual(normalize("SELECT /* a /* b */ c FROM t"), "SELECT c FROM t")
    })

    it("names a Postgres statement by statement and table", () => {
      assert.strictEqual(
        operationName("SELECT * FROM \"public\".\"users\" WHERE id = $1", "postgresql"),
        "SELECT public.users"
      )
      assert.strictEqual(
        operationName("INSERT INTO orders (id) VALUES ($1) RETURNING *", "postgresql"),
        "INSERT orders"
      )
    })

    const identifierWords = fc.stringMatching(/^[a-z]{1,6}$/)
    const pgString = fc.string({ unit: "binary" }).map((s) => `'${s.replace(/'/g, "''")}'`)
    const escapeString = fc.string({ unit: "binary" }).map((s) => `E'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`)
    const dollarQuoted = fc.tuple(fc.oneof(fc.constant(""), identifierWords), fc.string({ unit: "binary" }))
      .filter(([tag, body]) => !`${body}$`.includes(`$${tag}$`))
      .map(([tag, body]) => `$${tag}$${body}$${tag}$`)
    const number = fc.oneof(
      fc.nat().map(String),
      fc.nat().map((n) => n.toLocaleString("en-US").replace(/,/g, "_")),
      fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }).map((n) => String(Math.abs(n)))
    )
    const pgLiteral = fc.oneof(pgString, escapeString, dollarQuoted, number)
    const nestedComment = fc.array(fc.string({ unit: "binary" }).filter((s) => !/\/\*|\*\//.test(s)), {
      minLength: 1,
      maxLength: 3
    }).map((parts) => parts.reduceRight((inner, text) => `/*${text}${inner}${text}*/`, ""))
    const pgTemplate = (
      t: { table: string; column: string; other: string; inCount: number; rows: number },
      lit: () => string,
      note: () => string
    ) =>
      `${render(t, lit, note)}; SELECT ${t.column} FROM ${t.table} WHERE ${t.other} = ANY(ARRAY[${
        Array.from({ length: t.inCount }, lit).join(", ")
      }]) AND ${t.column} = $1 AND ${t.other} > ${lit()}::int ${note()}`

    it("never returns a literal or comment of its input (property)", () => {
      fc.assert(
        fc.property(
          template,
          fc.array(pgLiteral, { minLength: 30, maxLength: 30 }),
          fc.array(fc.oneof(nestedComment, comment), { minLength: 3, maxLength: 3 }),
          (t, lits, notes) => {
            let l = 0
            let n = 0
            const query = pgTemplate(t, () => lits[l++ % lits.length]!, () => notes[n++]!)
            const normalised = pg(query)
            assert.strictEqual(normalised, pg(pgTemplate(t, () => "0", () => "")), query)
            // $1 is the one digit a parameter may keep.
            assert.notMatch(normalised.replace(/\$1\b/g, ""), /['\d]/)
          }
        ),
        { numRuns: 1000 }
      )
    })
  })
})
