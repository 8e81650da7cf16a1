/**
 * A tracer provider registered globally for the scope, as an SDK registers
 * it (the global provider and the AsyncLocalStorage context manager that
 * non-Effect instrumentation reads), shut down and unregistered after.
 */
import * as Otel from "@opentelemetry/api"
import type { NodeTracerProvider } from "@opentelemetry/sdk-trace-node"
import { Effect } from "effect"

export const registeredProvider = (provider: NodeTracerProvider) =>
  Effect.acquireRelease(
    Effect.sync(() => provider.register()),
    () =>
      Effect.promise(async () => {
        await provider.shutdown()
        Otel.trace.disable()
        Otel.context.disable()
      })
  )
