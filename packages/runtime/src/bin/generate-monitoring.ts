#!/usr/bin/env node
/**
 * `npm run monitoring`: writes `monitoring/` (Prometheus rules, Grafana
 * dashboard) from the metric definitions, so that they cannot drift apart.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { render } from "../monitoring/files.ts"

const root = join(import.meta.dirname, "../../../../monitoring")
for (const [name, content] of Object.entries(render())) writeFileSync(join(root, name), content)
