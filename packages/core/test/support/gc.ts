import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

setFlagsFromString("--expose-gc")

/** A full garbage collection, so that heap readings show what is retained. */
export const collectGarbage: () => void = runInNewContext("gc")
