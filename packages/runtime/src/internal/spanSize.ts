/**
 * What a finished span costs on the wire, and the one field the SDK's span
 * limits leave unbounded.
 *
 * The SDK's `attributeValueLengthLimit` truncates span, event and link
 * attributes (so `exception.message` and `exception.stacktrace` too), but not
 * the status message, which Effect fills with the error's message.
 *
 * @since 0.1.0
 */
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"

/**
 * The span with its status message cut to `maxLength` characters. The span
 * itself is left alone (other processors may read it): the bounded view
 * inherits everything else from it.
 */
export const boundStatus = (span: ReadableSpan, maxLength: number): ReadableSpan => {
  const message = span.status.message
  if (message === undefined || message.length <= maxLength) return span
  return Object.create(span, { status: { value: { ...span.status, message: message.slice(0, maxLength) } } })
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
