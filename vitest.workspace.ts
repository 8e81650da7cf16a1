/**
 * The one list of test projects. `vitest.config.ts` reads it, because current Vitest
 * ignores a workspace file of its own accord.
 */
export default ["packages/core", "packages/services", "packages/runtime"]
