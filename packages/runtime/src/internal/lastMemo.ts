/**
 * A function that remembers its last argument and answer, for a header that
 * every request of a client carries unchanged (scrapers send the same
 * `Host` and `Accept-Encoding` each time): parsed once, not per request.
 */

/** `f`, answering a repeat of its last argument without calling `f`. */
export const lastMemo = <A, B>(f: (a: A) => B): (a: A) => B => {
  let last: { readonly argument: A; readonly answer: B } | undefined
  return (argument) => {
    if (last === undefined || last.argument !== argument) last = { argument, answer: f(argument) }
    return last.answer
  }
}
