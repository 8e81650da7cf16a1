import { StreamingDetector } from "@mcp-apm/core/StreamingDetector"
import { runContract } from "./latency.ts"
const seeds = Number(process.argv[3] ?? 100)
for (const tuning of JSON.parse(process.argv[2]!)) {
  const r = runContract(() => { const d = new StreamingDetector({ profile: "latency" }, tuning); return (x) => d.assess(x).severity }, seeds)
  console.log(process.env.TAG ?? "", JSON.stringify(tuning), "FA", r.clean.map((c) => c.episodesPer10k.toFixed(2)).join(" "), "| max", Math.max(...r.clean.map((c) => c.episodesPer10k)).toFixed(2))
  console.log("   caught", r.incidents.map((i) => i.caught).join(" "))
}
