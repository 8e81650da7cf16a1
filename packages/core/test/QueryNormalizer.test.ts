import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { normalize, operationName, shape } from "../src/QueryNormalizer.ts"

// Fragments that stress the tokenizer's edges: quotes, comments, dollar quotes, placeholders, numbers.
const fragment = fc.constantFrom(
  "SELECT", "FROM", "IN", "VALUES", " ", "\n", "\t", "'", "\"", "`", "--", "/*", "*/", "$", "$$", "$a$", "$1", "?",
  "?7", ":", "::", ":name", "@", "@@", "0x", "0xFF", "1", "42", ".", "e", "E", "+", "-", "(", ")", ",", "\\", "E'",
  "X'", "a", "users", "NULL", "é", "😀", "\u00a0"
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
      normalize("SELECT *\n  FROM users WHERE id IN (1, 2,3) AND name = 'ada' -- who\n AND x = 0x1F /* c */ AND y = 1.5e3"),
      "SELECT * FROM users WHERE id IN (?) AND name = ? AND x = ? AND y = ?"
    )
    assert.strictEqual(normalize("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')"), "INSERT INTO t (a, b) VALUES (?)")
    assert.strictEqual(normalize("SELECT E'it\\'s', $$body$$, $tag$x$tag$ FROM t"), "SELECT ?, ?, ? FROM t")
    assert.strictEqual(normalize("UPDATE t SET a = $1, b = :b, c = ? WHERE d IS NULL AND e = TRUE"), "UPDATE t SET a = $1, b = :b, c = ? WHERE d IS NULL AND e = TRUE")
    assert.strictEqual(normalize("SELECT x::int FROM t"), "SELECT x::int FROM t")
    assert.strictEqual(normalize("SELECT 'unterminated"), "SELECT ?")
  })

  it("names the operation by statement and table", () => {
    assert.strictEqual(operationName("select * from users where id = 1"), "SELECT users")
    assert.strictEqual(operationName("SELECT id FROM public.\"Users\" u JOIN orders o ON o.u = u.id"), "SELECT public.Users")
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
    fc.assert(fc.property(fc.oneof(fc.string({ unit: "binary" }), sqlish), (input) => {
      assert.isString(normalize(input))
      assert.isString(shape(input).operationName)
    }), { numRuns: 2000 })
  })

  it("is idempotent", () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: "binary" }), sqlish), (input) => {
      const once = normalize(input)
      assert.strictEqual(normalize(once), once, JSON.stringify(input))
    }), { numRuns: 5000 })
  })

  it("never returns a string or number literal (or comment) of its input", () => {
    fc.assert(
      fc.property(template, fc.array(literal, { minLength: 20, maxLength: 20 }), fc.array(comment, { minLength: 2, maxLength: 2 }), (t, lits, notes) => {
        let l = 0
        let n = 0
        const query = render(t, () => lits[l++ % lits.length]!, () => notes[n++]!)
        const normalised = normalize(query)
        // The output does not depend on the values: the same query with other values normalises alike.
        assert.strictEqual(normalised, normalize(render(t, () => "0", () => "")), query)
        assert.notMatch(normalised, /['\d]/)
      }),
      { numRuns: 1000 }
    )
  })

  it("operation names stay bounded and value-free", () => {
    fc.assert(fc.property(template, fc.array(literal, { minLength: 20, maxLength: 20 }), (t, lits) => {
      let l = 0
      const name = operationName(render(t, () => lits[l++ % lits.length]!, () => ""))
      assert.strictEqual(name, operationName(render(t, () => "0", () => "")))
      assert.isAtMost(name.length, 80)
    }), { numRuns: 300 })
  })
})
