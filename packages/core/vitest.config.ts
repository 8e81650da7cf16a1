import { defineProject } from "vitest/config"

// The detector's contract tests run a million samples each and the memory test 60,000 operations: on two busy
// cores one can take several seconds, which is load, not a failure. No test asserts a timing.
export default defineProject({ test: { name: "core", include: ["test/**/*.test.ts"], testTimeout: 30_000 } })
