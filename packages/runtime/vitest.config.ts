import { defineProject } from "vitest/config"

// These tests start real processes (promtool, Prometheus, the CLI) and servers; on two busy cores one can
// take several seconds, which is load, not a failure. No test asserts a timing.
export default defineProject({ test: { name: "runtime", include: ["test/**/*.test.ts"], testTimeout: 30_000 } })
