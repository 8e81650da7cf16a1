import { ApmConfig } from "@mcp-apm/core"
import { Duration, Effect, Option } from "effect"
import { HttpServer } from "effect/http"
import { NetAddress } from "effect/net"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ApmLiveStack, RuntimeConfig } from "../../src/index.ts"

/** A temporary directory of the test's own. */
export const temporaryDirectory = (prefix: string) => mkdtempSync(join(tmpdir(), `${prefix}-`))

/** The live stack at the default configuration, on a free port of 127.0.0.1, keeping its files in `dir`. */
export const liveStack = (serviceName: string, dir = temporaryDirectory(serviceName)) =>
  ApmLiveStack.make(
    ApmConfig.ApmConfig.layer(),
    RuntimeConfig.layer({
      host: "127.0.0.1",
      port: 0,
      serviceName,
      baselineFile: join(dir, "baselines.json"),
      profileDirectory: Option.none(),
      httpToken: Option.none(),
      shutdownTimeout: Duration.seconds(3)
    })
  )

/** The base URL the live stack's server listens on. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) => NetAddress.formatUrlUnsafe(server.address))
