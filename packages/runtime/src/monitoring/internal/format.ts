/**
 * Numbers as the generated rules print them.
 */
const units: ReadonlyArray<readonly [string, number]> = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
  ["ms", 1]
]

/**
 * Seconds as a Prometheus duration (`1d`, `1h30m`, `500ms`), for windows and
 * `for:` clauses. Rounded to the millisecond, Prometheus's resolution; at least 1ms.
 */
export const promDuration = (seconds: number): string => {
  let rest = Math.max(1, Math.round(seconds * 1000))
  let text = ""
  for (const [unit, millis] of units) {
    const n = Math.floor(rest / millis)
    if (n > 0) text += `${n}${unit}`
    rest -= n * millis
  }
  return text
}

/** A fraction as a percentage for people: 0.999 is `99.9`, not `99.90000000000001`. */
export const percent = (fraction: number): string => String(Number((fraction * 100).toPrecision(12)))
