#!/usr/bin/env node
/**
 * `npm run monitoring`: writes `monitoring/` (Prometheus rules, Grafana
 * dashboards, example configurations) from the metric definitions, so that
 * they cannot drift apart.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { render } from "../monitoring/files.ts"

const root = join(import.meta.dirname, "../../../../monitoring")
for (const [path, content] of Object.entries(render())) {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), content)
}
