/**
 * A finished span as it may leave the process, and what it costs on the
 * wire.
 *
 * The SDK's `attributeValueLengthLimit` truncates span, event and link
 * attributes (so `exception.message` and `exception.stacktrace` too), but not
 * the status message, which Effect fills with the error's message. And
 * nothing in the SDK knows a secret: an error's message and stack trace
 * carry the URL of a failed call, password included.
 *
 * @since 0.1.0
 */
import { Redaction } from "@mcp-apm/core"
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base"

const redactEvent = (event: TimedEvent, rules: Redaction.Rules): TimedEvent => {
  if (event.attributes === undefined) return event
  const attributes = Redaction.redactAttributes(event.attributes, rules)
  return attributes === event.attributes ? event : { ...event, attributes }
}

/**
 * The span with every secret redacted (see `Redaction`) from its name,
 * status message, attributes and events, then its status message cut to
 * `maxLength` characters. The span itself is left alone (other processors
 * may read it): the safe view inherits everything else from it.
 */
export const safeSpan = (span: ReadableSpan, maxLength: number, rules: Redaction.Rules): ReadableSpan => {
  const changes: PropertyDescriptorMap = {}
  let changed = false
  const name = Redaction.redactText(span.name, rules)
  if (name !== span.name) {
    changes.name = { value: name }
    changed = true
  }
  const message = span.status.message
  if (message !== undefined) {
    const safe = Redaction.redactText(message, rules).slice(0, maxLength)
    if (safe !== message) {
      changes.status = { value: { ...span.status, message: safe } }
      changed = true
    }
  }
  const attributes = Redaction.redactAttributes(span.attributes, rules)
  if (attributes !== span.attributes) {
    changes.attributes = { value: attributes }
    changed = true
  }
  let events: Array<TimedEvent> | undefined
  for (let i = 0; i < span.events.length; i++) {
    const event = span.events[i]!
    const safe = redactEvent(event, rules)
    if (safe !== event) (events ??= span.events.slice())[i] = safe
  }
  if (events !== undefined) {
    changes.events = { value: events }
    changed = true
  }
  return changed ? Object.create(span, changes) : span
}

// Ids, timestamps, kind, status code and the JSON punctuation around them.
const fixedBytes = 256
const fixedEventBytes = 64
const fixedLinkBytes = 96

const valueSize = (value: unknown): number => {
  if (typeof value === "string") return value.length + 8
  if (Array.isArray(value)) {
    let size = 16
    for (const item of value) size += valueSize(item)
    return size
  }
  return 24
}

const attributesSize = (attributes: Readonly<Record<string, unknown>>): number => {
  let size = 0
  for (const key in attributes) size += key.length + 32 + valueSize(attributes[key])
  return size
}

/**
 * An estimate of the span's size in an OTLP/JSON request, in characters
 * (bytes for ASCII). It walks the span without serialising it: the exporter
 * serialises anyway, and a second `JSON.stringify` per span would double
 * the export's CPU.
 */
export const estimatedSize = (span: ReadableSpan): number => {
  let size = fixedBytes + span.name.length + (span.status.message?.length ?? 0) + attributesSize(span.attributes)
  for (const event of span.events) size += fixedEventBytes + event.name.length + attributesSize(event.attributes ?? {})
  for (const link of span.links) size += fixedLinkBytes + attributesSize(link.attributes ?? {})
  return size
}
