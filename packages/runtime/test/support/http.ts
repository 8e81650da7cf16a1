import { Apm, ApmConfig } from "@mcp-apm/core"
import { Effect, Layer, Option } from "effect"
import { HttpServer } from "effect/http"
import { NetAddress } from "effect/net"
import { request as httpRequest } from "node:http"
import * as MetricsServer from "../../src/MetricsServer.ts"

/** The guarded server with the core `Apm` behind it, no OTLP and no files. */
export const guardedServer = (options: Partial<MetricsServer.Options> = {}) =>
  MetricsServer.layerWith({ host: "127.0.0.1", port: 0, token: Option.none(), ...options }).pipe(
    Layer.provideMerge(Apm.layerWithoutResources.pipe(Layer.provide(ApmConfig.ApmConfig.layer())))
  )

/** The server's port. */
export const port = Effect.map(HttpServer.HttpServer, (server) => (server.address as NetAddress.InetAddress).port)

export interface Reply {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

/** One request through node:http, which (unlike fetch) sends the Host header it is given. */
export const request = (
  port: number,
  path: string,
  options: { readonly method?: string; readonly headers?: Record<string, string> } = {}
) =>
  Effect.callback<Reply, Error>((resume) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers ?? {} },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () =>
          resume(Effect.succeed({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8")
          })))
      }
    )
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end()
  })
