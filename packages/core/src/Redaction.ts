/**
 * What never leaves the process: the rules that turn secrets in attribute
 * names, URLs and free text (error messages, stack traces, span names) into
 * `[REDACTED]` before anything is recorded or exported.
 *
 * - A name is secret when it is one of the credential headers
 *   (`authorization`, `cookie`, `set-cookie`, `x-api-key`), contains
 *   `password`, `passwd` or `secret`, has a segment starting with `session`,
 *   ends with a `token` segment (`access_token`, `idToken`), or ends with a
 *   credential's `key` (`key` alone, `x-api-key`, `apiKey`, `private_key`,
 *   `access_key`, ...). Names that only describe tokens or keys
 *   (`gen_ai.token.type`, `gen_ai.usage.input_tokens`, `token_type`,
 *   `cache_key`, `idempotency_key`) are not secrets and pass.
 * - In text, credentials of a URL (`https://user:pass@host`) are removed,
 *   the value of a query parameter named in the rules (`token`, `api_key`,
 *   `sig`, `signature`, `X-Amz-*`, `code`, `session` and any secret name)
 *   is redacted, as are `"name": "value"` pairs and `name: value` header
 *   lines under a secret name, and e-mail addresses.
 *
 * Pure and synchronous, with no Node dependency: the span export path and
 * the log path call it from callbacks outside any fiber.
 *
 * @since 0.1.0
 */
import { Config, Context, Layer, Schema } from "effect"

/**
 * What a redacted value becomes.
 *
 * @category constants
 * @since 0.1.0
 */
export const placeholder = "[REDACTED]"

/**
 * The query parameters whose values are always redacted; a trailing `*`
 * matches a prefix. Matching ignores case.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultQueryParams: ReadonlyArray<string> = [
  "token",
  "api_key",
  "sig",
  "signature",
  "X-Amz-*",
  "code",
  "session"
]

/**
 * The compiled redaction rules.
 *
 * @category models
 * @since 0.1.0
 */
export interface Rules {
  /** The query parameter names (and `prefix*` patterns) whose values are redacted, besides every secret name. */
  readonly queryParams: ReadonlyArray<string>
  /** Whether the value of the query parameter `name` is redacted. */
  readonly isRedactedParam: (name: string) => boolean
}

/**
 * Rules that redact the default query parameters and `extra` ones.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (extra: ReadonlyArray<string> = []): Rules => {
  const queryParams = [...new Set([...defaultQueryParams, ...extra])]
  const exact = new Set(queryParams.filter((p) => !p.endsWith("*")).map((p) => p.toLowerCase()))
  const prefixes = queryParams.filter((p) => p.endsWith("*")).map((p) => p.slice(0, -1).toLowerCase())
  return {
    queryParams,
    isRedactedParam: (name) => {
      const lower = name.toLowerCase()
      return exact.has(lower) || prefixes.some((prefix) => lower.startsWith(prefix)) || isSecretName(name)
    }
  }
}

/**
 * The default rules.
 *
 * @category constants
 * @since 0.1.0
 */
export const defaultRules: Rules = make()

const credentialHeaders = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"])
const secretWords = /password|passwd|secret/i
// `http.request.header.cookie`, `http.response.header.set-cookie`: the header named last.
const credentialLastSegments = new Set(["cookie", "authorization"])
// A `key` is a credential after these; a cache key or a partition key is not.
const credentialKeyKinds = new Set([
  "api",
  "access",
  "private",
  "signing",
  "encryption",
  "client",
  "auth",
  "master",
  "license",
  "subscription",
  "app",
  "account",
  "ssh"
])

const computeSecretName = (name: string): boolean => {
  const lower = name.toLowerCase()
  if (credentialHeaders.has(lower) || secretWords.test(lower)) return true
  // camelCase counts as segments: `apiKey`, `sessionId`.
  const segments = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).filter((s) => s !== "")
  if (segments.length === 0) return false
  if (segments.some((segment) => segment.startsWith("session"))) return true
  const last = segments[segments.length - 1]!
  if (last === "key") return segments.length === 1 || credentialKeyKinds.has(segments[segments.length - 2]!)
  return credentialLastSegments.has(last) || last.endsWith("token") || last.endsWith("apikey")
}

// Attribute names repeat: decided once each, in a bounded cache.
const maxCachedNames = 4096
const decided = new Map<string, boolean>()

/**
 * Whether a header, attribute or parameter named `name` holds a secret.
 *
 * @category predicates
 * @since 0.1.0
 */
export const isSecretName = (name: string): boolean => {
  let secret = decided.get(name)
  if (secret === undefined) {
    secret = computeSecretName(name)
    if (decided.size >= maxCachedNames) decided.clear()
    decided.set(name, secret)
  }
  return secret
}

// Characters without which no rule below can match: the fast path of `redactText`.
const mayHoldSecret = /[@=:]|%40/
// Anchored on its literal `://`: a pattern that may start anywhere costs a stack trace one scan per position.
// Greedy up to the last `@` before the path: a password may hold an `@` of its own.
const urlCredentials = /(:\/\/)[^\s/?#"'<>]*@/g
const quotedPair = /(?<![\w.-])(["']?)([A-Za-z_][\w.-]{0,63})\1(\s*[:=]\s*)(["'])((?:\\.|(?!\4)[^\\])*)\4/g
const headerLine = /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)(\s*:\s*)[^\r\n]*/gi

// Scanned around each `=` and `@` rather than matched by a pattern, for the same reason.
const paramNameChar = /[\w.[\]%+~-]/
const paramBoundary = /[?&;#\s,("']/
const paramValueEnd = /[\s&#;,"'<>()]/
// An e-mail's local part: RFC 5322's characters but the URL delimiters among them (`/`, `?`, `&`, `=`, `'`).
const localChar = /[A-Za-z0-9.!#$%*+^_`{|}~-]/
const domainChar = /[A-Za-z0-9.-]/
const topLevelDomain = /\.[A-Za-z]{2,}$/

/** Replaces each `name=value` whose name `redacted` accepts: the name starts the text or follows a delimiter. */
const redactPairs = (text: string, redacted: (name: string) => boolean): string => {
  let out = ""
  let copied = 0
  for (let eq = text.indexOf("="); eq !== -1; eq = text.indexOf("=", eq + 1)) {
    let start = eq
    while (start > 0 && paramNameChar.test(text[start - 1]!)) start--
    if (start === eq || (start > 0 && !paramBoundary.test(text[start - 1]!)) || start < copied) continue
    let end = eq + 1
    while (end < text.length && !paramValueEnd.test(text[end]!)) end++
    const value = text.slice(eq + 1, end)
    if (value === "" || value === placeholder || !redacted(text.slice(start, eq))) continue
    out += text.slice(copied, eq + 1) + placeholder
    copied = end
  }
  return copied === 0 ? text : out + text.slice(copied)
}

/** Replaces each e-mail address, `@` or `%40`, by the placeholder. */
const redactEmails = (text: string): string => {
  let out = ""
  let copied = 0
  let at = 0
  for (;;) {
    const plain = text.indexOf("@", at)
    const encoded = text.indexOf("%40", at)
    const next = plain === -1 ? encoded : encoded === -1 ? plain : Math.min(plain, encoded)
    if (next === -1) break
    const width = next === encoded ? 3 : 1
    at = next + width
    let start = next
    while (start > copied && localChar.test(text[start - 1]!)) start--
    let end = at
    while (end < text.length && domainChar.test(text[end]!)) end++
    // A trailing dot ends the sentence, not the domain.
    while (end > at && text[end - 1] === ".") end--
    if (start === next || !topLevelDomain.test(text.slice(at, end))) continue
    out += text.slice(copied, start) + placeholder
    copied = end
    at = end
  }
  return copied === 0 ? text : out + text.slice(copied)
}

const decodedName = (name: string): string => {
  if (!name.includes("%") && !name.includes("+")) return name
  try {
    return decodeURIComponent(name.replace(/\+/g, " "))
  } catch {
    return name
  }
}

/**
 * `text` (a URL, a query string, an error message, a stack trace) with
 * every secret the rules know of redacted; the same string when there is
 * none.
 *
 * @category redaction
 * @since 0.1.0
 */
export const redactText = (text: string, rules: Rules = defaultRules): string => {
  if (!mayHoldSecret.test(text)) return text
  const at = text.includes("@") || text.includes("%40")
  let safe = at ? text.replace(urlCredentials, "$1") : text
  if (safe.includes(":")) {
    safe = safe.replace(headerLine, (_, name: string, separator: string) => `${name}${separator}${placeholder}`)
  }
  if (safe.includes("\"") || safe.includes("'")) {
    safe = safe.replace(
      quotedPair,
      (match, quote: string, name: string, separator: string, valueQuote: string) =>
        isSecretName(name) ? `${quote}${name}${quote}${separator}${valueQuote}${placeholder}${valueQuote}` : match
    )
  }
  if (safe.includes("=")) safe = redactPairs(safe, (name) => rules.isRedactedParam(decodedName(name)))
  return at ? redactEmails(safe) : safe
}

/**
 * An attribute value with its secrets redacted: everything under a secret
 * name, and the secrets inside strings (and arrays of strings) otherwise.
 *
 * @category redaction
 * @since 0.1.0
 */
export const redactValue = <A>(name: string, value: A, rules: Rules = defaultRules): A | string => {
  if (isSecretName(name)) return value === undefined || value === null ? value : placeholder
  if (typeof value === "string") return redactText(value, rules)
  if (Array.isArray(value)) {
    let changed: Array<unknown> | undefined
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      const safe = typeof item === "string" ? redactText(item, rules) : item
      if (safe !== item) (changed ??= value.slice())[i] = safe
    }
    return (changed ?? value) as A
  }
  return value
}

/**
 * `attributes` with every secret redacted (see `redactValue`); the same
 * object when nothing changed.
 *
 * @category redaction
 * @since 0.1.0
 */
export const redactAttributes = <A extends Readonly<Record<string, unknown>>>(
  attributes: A,
  rules: Rules = defaultRules
): A => {
  let changed: Record<string, unknown> | undefined
  for (const name in attributes) {
    const value = attributes[name]
    const safe = redactValue(name, value, rules)
    if (safe !== value) (changed ??= { ...attributes })[name] = safe
  }
  return (changed ?? attributes) as A
}

/**
 * The rules in use. `Apm.trace`, `ApmHttp` and the span export read it;
 * `layerConfig` sets it from the environment.
 *
 * @category references
 * @since 0.1.0
 */
export const CurrentRules = Context.Reference<Rules>("@mcp-apm/core/Redaction/CurrentRules", {
  defaultValue: () => defaultRules
})

const ParamNames = Schema.String.check(
  Schema.isPattern(/^\s*([\w.[\]-]+\*?\s*(,\s*[\w.[\]-]+\*?\s*)*)?,?\s*$/, {
    expected: "a comma-separated list of query parameter names (a trailing * matches a prefix), e.g. otp,X-Goog-*"
  })
)

/**
 * The rules from `APM_REDACT_QUERY_PARAMS`: the defaults plus the
 * comma-separated names it lists.
 *
 * @category config
 * @since 0.1.0
 */
export const config: Config.Config<Rules> = Config.schema(ParamNames, "APM_REDACT_QUERY_PARAMS").pipe(
  Config.withDefault(""),
  Config.map((list) => make(list.split(",").map((name) => name.trim()).filter((name) => name !== "")))
)

/**
 * Sets `CurrentRules` from `APM_REDACT_QUERY_PARAMS`; a bad list fails with
 * a `ConfigError` naming the variable.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<never, Config.ConfigError> = Layer.effect(CurrentRules, config)
