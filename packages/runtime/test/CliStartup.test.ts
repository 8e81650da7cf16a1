/**
 * Start-up errors of the real program: a bad `APM_*` value, a bad runtime
 * variable, a port in use. Each is one or two lines on stderr naming the
 * variable, the value and what was expected (or the address and what to do),
 * nothing on stdout, exit code 1 and no stack trace unless APM_DEBUG_MODE is
 * on. A bad flag is exit code 2, with the flag named on stderr.
 */
import { assert, describe, it } from "@effect/vitest"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { run, stackFrame } from "./support/cliProcess.ts"

const lines = (text: string) => text.trimEnd().split("\n")

// each test starts Node and the program (a second or more on a busy machine)
describe.concurrent("mcp-apm start-up errors", { timeout: 30_000 }, () => {
  const badValues: ReadonlyArray<readonly [Record<string, string>, string]> = [
    [
      { APM_SLOW_REQUEST_THRESHOLD: "abc" },
      `Invalid APM_SLOW_REQUEST_THRESHOLD="abc": expected a number of seconds greater than 0`
    ],
    [{ APM_ENABLED: "maybe" }, `Invalid APM_ENABLED="maybe": expected a boolean: true/false, yes/no, on/off or 1/0`],
    [{ APM_HTTP_PORT: "70000" }, `Invalid APM_HTTP_PORT="70000": expected a value between 0 and 65535`],
    [{ APM_SHUTDOWN_TIMEOUT: "soon" }, `Invalid APM_SHUTDOWN_TIMEOUT="soon": expected a valid Duration string`]
  ]
  for (const [env, message] of badValues) {
    it(`${Object.entries(env)[0]!.join("=")}: one line naming the variable, the value and what was expected`, async () => {
      const r = await run(["demo", "--duration", "1"], env)
      assert.strictEqual(r.code, 1)
      assert.deepStrictEqual(lines(r.stderr), [message])
      assert.notMatch(r.stderr, stackFrame)
      assert.strictEqual(r.stdout, "")
    })
  }

  it("a port in use: the address and what to do, in two lines", async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
    try {
      const { port } = holder.address() as AddressInfo
      const r = await run(["demo", "--duration", "1"], { APM_HTTP_PORT: String(port) })
      assert.strictEqual(r.code, 1)
      const [first, second, ...rest] = lines(r.stderr)
      assert.strictEqual(first, `Cannot listen on 127.0.0.1:${port}: the address is already in use.`)
      assert.include(second, "APM_HTTP_PORT")
      assert.include(second, "--port")
      assert.deepStrictEqual(rest, [])
      assert.notMatch(r.stdout, /metrics: http/)
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  })

  it("APM_DEBUG_MODE adds the stack trace after the sentence", async () => {
    const r = await run(["demo", "--duration", "1"], { APM_SLOW_REQUEST_THRESHOLD: "abc", APM_DEBUG_MODE: "true" })
    assert.strictEqual(r.code, 1)
    assert.strictEqual(
      lines(r.stderr)[0],
      `Invalid APM_SLOW_REQUEST_THRESHOLD="abc": expected a number of seconds greater than 0`
    )
    assert.match(r.stderr, stackFrame)
    assert.strictEqual(r.stdout, "")
  })

  const badFlags: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
    [["--duration", "0"], /--duration: "0"\. Expected: a number of seconds greater than 0/],
    [["--port", "70000"], /--port: "70000"\. Expected: a port between 0 and 65535/],
    [["--rate", "abc"], /--rate: "abc"/],
    [
      ["--rate", "2000"],
      /--rate: "2000"\. Expected: a number of operations per second greater than 0 and at most 1000/
    ],
    [["--seed", "-1"], /--seed: "-1"\. Expected: a whole number >= 0/],
    [["--faults", "some"], /--faults: "some"/],
    [["--git", "fake"], /--git: "fake"\. Expected: "real" \| "simulated"/],
    [["--duration", "5", "--fault-at", "7"], /--fault-at 7 must be before the end of the run \(--duration 5\)/],
    [["--no-such-flag"], /--no-such-flag/]
  ]
  for (const [flags, expected] of badFlags) {
    it(`demo ${flags.join(" ")}: exit code 2 and the error on stderr`, async () => {
      const r = await run(["demo", ...flags])
      assert.strictEqual(r.code, 2)
      assert.match(r.stderr, expected)
      assert.notMatch(r.stderr, stackFrame)
      assert.strictEqual(r.stdout, "")
    })
  }
})
