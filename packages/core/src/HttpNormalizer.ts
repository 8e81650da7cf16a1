/**
 * HTTP methods, URLs and endpoints as bounded operation names and labels:
 * `GET /users/42?tab=orders` becomes `GET /users/:id`. Used where no route
 * template is known (HTTP clients, unmatched server paths, requests timed by
 * the caller), so that ids, query strings and free text never become label
 * values.
 *
 * @since 0.1.0
 */
const httpMethods = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"])

/**
 * An HTTP method as a bounded label: the standard methods, else `_OTHER`
 * (OpenTelemetry's convention).
 *
 * @category normalisation
 * @since 0.1.0
 */
export const normalizeMethod = (method: string): string => {
  const upper = method.trim().toUpperCase()
  return httpMethods.has(upper) ? upper : "_OTHER"
}

const maxSegments = 8
const maxPathLength = 128
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const normalizeSegment = (segment: string): string => {
  if (segment === "" || segment.startsWith(":") || (segment.startsWith("{") && segment.endsWith("}"))) return segment
  if (/^\d+$/.test(segment)) return ":id"
  if (uuid.test(segment)) return ":uuid"
  if (/^[0-9a-f]{12,}$/i.test(segment) && /\d/.test(segment)) return ":hash"
  // Anything that reads as data rather than a route: digits mixed into a long
  // segment, escapes, an address, or a segment too long for a route name.
  if (/[%@=~,;]/.test(segment) || segment.length > 32 || !/^[\w.-]+$/.test(segment)) return ":value"
  if (/\d/.test(segment) && (segment.length > 8 || /\d{3,}/.test(segment))) return ":id"
  return segment
}

/**
 * The path template of a URL or path, fit for an operation name: no scheme,
 * host, query or fragment; numbers, UUIDs, hashes and other data-like
 * segments replaced by placeholders (`:id`, `:uuid`, `:hash`, `:value`); at
 * most 8 segments and 128 characters.
 *
 * @example
 * ```ts
 * normalizePath("https://api.example.com/users/42/orders?page=2") // "/users/:id/orders"
 * ```
 *
 * @category normalisation
 * @since 0.1.0
 */
export const normalizePath = (url: string): string => {
  let path = url.trim()
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(path)
  if (origin !== null) path = path.slice(origin[0].length)
  path = path.split(/[?#]/, 1)[0]!
  const segments = path.split("/").filter((s, i) => i > 0 || s !== "")
  const kept = segments.slice(0, maxSegments).map(normalizeSegment)
  if (segments.length > maxSegments) kept.push("…")
  const template = "/" + kept.join("/")
  return template.length <= maxPathLength ? template : template.slice(0, maxPathLength - 1) + "…"
}

/**
 * An endpoint as an operation name: `POST /charges/42`, `/charges/42` or a
 * full URL becomes the method (if given) and the path template.
 *
 * @category normalisation
 * @since 0.1.0
 */
export const normalizeEndpoint = (endpoint: string): string => {
  const match = /^([A-Za-z]+)\s+(\S.*)$/.exec(endpoint.trim())
  return match === null ? normalizePath(endpoint) : `${normalizeMethod(match[1]!)} ${normalizePath(match[2]!)}`
}
