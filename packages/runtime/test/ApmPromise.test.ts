import { assert, describe, it } from "@effect/vitest"
import { Apm } from "@mcp-apm/core"
import { ApmRecorder, ApmTest } from "@mcp-apm/core/testing"
import { ApmPromise } from "../src/index.ts"

class PaymentDeclined extends Error {}

describe("ApmPromise", () => {
  it("traces async and sync functions; values and thrown errors pass through unchanged", async () => {
    const apm = await ApmPromise.make(ApmTest.layer())
    try {
      assert.strictEqual(await apm.trace("load_user", "database_query", async () => "Ada", { table: "users" }), "Ada")
      const declined = new PaymentDeclined("card declined")
      const rejected = await apm.trace("charge", "external_api", () => Promise.reject(declined)).then(
        () => undefined,
        (error: unknown) => error
      )
      assert.strictEqual(rejected, declined)
      assert.strictEqual(apm.traceSync("parse", "custom_operation", () => 21 * 2), 42)
      const thrown = new RangeError("bad input")
      let caught: unknown
      try {
        apm.traceSync("parse", "custom_operation", () => {
          throw thrown
        })
      } catch (error) {
        caught = error
      }
      assert.strictEqual(caught, thrown)
      const records = await apm.run(ApmRecorder.operations)
      assert.deepStrictEqual(records.map((r) => [r.operationName, r.operationType, r.status, r.errorMessage]), [
        ["load_user", "database_query", "ok", undefined],
        ["charge", "external_api", "error", "card declined"],
        ["parse", "custom_operation", "ok", undefined],
        ["parse", "custom_operation", "error", "bad input"]
      ])
      assert.deepStrictEqual(records[0]!.attributes, { table: "users" })
      const summaries = await apm.run(Apm.summaries)
      assert.strictEqual(summaries.find((s) => s.operationName === "parse")!.totalOperations, 2)
    } finally {
      await apm.dispose()
    }
  })
})
