import { BaselineStore } from "@mcp-apm/core"
import { Effect } from "effect"
import type { Duration } from "effect"
import { readFileSync } from "node:fs"

/**
 * Reads `file` every `every` while writers replace it, counting whole
 * snapshots and broken ones, until interrupted: what another process
 * sharing the file would see.
 */
export const readSnapshotsForever = (file: string, every: Duration.Input, reads: { whole: number; broken: number }) =>
  Effect.gen(function*() {
    for (;;) {
      yield* Effect.sleep(every)
      const text = yield* Effect.try(() => readFileSync(file, "utf8")).pipe(Effect.orElseSucceed(() => undefined))
      if (text === undefined) continue
      const decoded = yield* Effect.result(BaselineStore.decodeSnapshot(text))
      if (decoded._tag === "Success" && decoded.success.dropped === 0) reads.whole++
      else reads.broken++
    }
  })
