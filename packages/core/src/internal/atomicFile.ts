/**
 * A small file that several processes may read and replace at once, on a
 * disk that may be missing, read-only, full or hung: read only when it is a
 * regular file of bounded size, replaced atomically through a temporary
 * name no other writer uses, and every operation bounded by a timeout.
 *
 * Directories are created one level at a time rather than with
 * `recursive: true`: Node's recursive mkdir loops forever, at full CPU, on a
 * parent that exists but cannot hold children (any path under `/proc`),
 * because the kernel answers ENOENT, which Node takes for a missing parent.
 *
 * @internal
 */
import { Clock, Data, Duration, Effect, Exit, FileSystem, Option, Path, Random } from "effect"
import type { PlatformError } from "effect/PlatformError"

/** @internal */
export class FileFailure extends Data.TaggedError("FileFailure")<{
  readonly operation: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.operation}: ${this.reason}`
  }
}

/** @internal */
export interface FileOptions {
  /** The longest any one file operation may take before it is given up. */
  readonly timeout: Duration.Duration
  /** Part of the temporary name, so that two processes writing the same file never share one. */
  readonly processId?: number | undefined
}

const isReason = (tag: string) => (error: PlatformError) => error.reason._tag === tag

const bounded =
  (operation: string, timeout: Duration.Duration) =>
  <A>(effect: Effect.Effect<A, PlatformError | FileFailure>): Effect.Effect<A, FileFailure> =>
    effect.pipe(
      // Saves run in finalizers, which are uninterruptible: without this the timeout could not stop the operation.
      Effect.interruptible,
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail(new FileFailure({ operation, reason: `no answer in ${Duration.format(timeout)}` }))
      }),
      Effect.mapError((error) =>
        error._tag === "FileFailure" ? error : new FileFailure({ operation, reason: describe(error) })
      )
    )

// The system's own message ("ENOSPC: no space left on device, write") says more than the portable reason ("Unknown").
const describe = (error: PlatformError): string =>
  error.reason._tag !== "BadArgument" && error.reason.cause instanceof Error
    ? error.reason.cause.message
    : error.message

/**
 * The file's text, `undefined` when there is no file. Refused when it is not a
 * regular file (a directory, a device, a FIFO whose read would block) or
 * larger than `maxBytes`.
 *
 * @internal
 */
const statIfAny = (fs: FileSystem.FileSystem, file: string, options: FileOptions) =>
  fs.stat(file).pipe(
    Effect.map(Option.some),
    Effect.catchIf(isReason("NotFound"), () => Effect.succeedNone),
    bounded(`stat ${file}`, options.timeout)
  )

const notAFile = (operation: string, type: FileSystem.File.Type) =>
  new FileFailure({ operation, reason: `it is not a regular file (${type})` })

/**
 * The file's text, `undefined` when there is no file. Refused when it is not a
 * regular file (a directory, a device, a FIFO whose read would block) or
 * larger than `maxBytes`.
 *
 * @internal
 */
export const read = Effect.fnUntraced(function*(file: string, maxBytes: number, options: FileOptions) {
  const fs = yield* FileSystem.FileSystem
  const info = yield* statIfAny(fs, file, options)
  if (Option.isNone(info)) return undefined
  if (info.value.type !== "File") return yield* notAFile(`read ${file}`, info.value.type)
  if (Number(info.value.size) > maxBytes) {
    return yield* new FileFailure({
      operation: `read ${file}`,
      reason: `${info.value.size} bytes is more than the ${maxBytes} it can legitimately hold`
    })
  }
  return yield* fs.readFileString(file).pipe(bounded(`read ${file}`, options.timeout))
})

/**
 * Fails unless `file` is absent or a regular file: a rename over a device
 * would destroy it, and over a directory it would fail on every save.
 *
 * @internal
 */
export const checkReplaceable = Effect.fnUntraced(function*(file: string, options: FileOptions) {
  const info = yield* statIfAny(yield* FileSystem.FileSystem, file, options)
  if (Option.isSome(info) && info.value.type !== "File") return yield* notAFile(`use ${file}`, info.value.type)
})

const makeDirectories = (
  fs: FileSystem.FileSystem,
  path: Path.Path,
  directory: string
): Effect.Effect<void, PlatformError> => {
  const makeOne = fs.makeDirectory(directory).pipe(Effect.catchIf(isReason("AlreadyExists"), () => Effect.void))
  const parent = path.dirname(directory)
  if (parent === directory) return makeOne
  // One retry once the parent exists: a second NotFound is final (that is where Node's own walk loops).
  return makeOne.pipe(
    Effect.catchIf(isReason("NotFound"), () => Effect.andThen(makeDirectories(fs, path, parent), makeOne))
  )
}

const temporarySuffix = ".tmp"

/**
 * Replaces `file` with `text` (mode 0600) through a temporary file in the
 * same directory, renamed over it, so that a reader sees the old or the new
 * content, never a mix. A failed or interrupted write removes its temporary file.
 *
 * @internal
 */
export const write = Effect.fnUntraced(function*(file: string, text: string, options: FileOptions) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const directory = path.dirname(file)
  yield* makeDirectories(fs, path, directory).pipe(bounded(`create the directory ${directory}`, options.timeout))
  const random = (yield* Random.nextIntBetween(0, 2 ** 48)).toString(36)
  const temporary = options.processId === undefined
    ? `${file}.${random}${temporarySuffix}`
    : `${file}.${options.processId}.${random}${temporarySuffix}`
  // "wx": never write through a file (or a planted symlink) that is already there.
  yield* fs.writeFileString(temporary, text, { flag: "wx", mode: 0o600 }).pipe(
    bounded(`write ${temporary}`, options.timeout),
    Effect.andThen(fs.rename(temporary, file).pipe(bounded(`rename ${temporary} to ${file}`, options.timeout))),
    // On interruption too: the periodic save is interrupted mid-write when the store shuts down.
    Effect.onExit((exit) =>
      Exit.isSuccess(exit)
        ? Effect.void
        : fs.remove(temporary, { force: true }).pipe(bounded(`remove ${temporary}`, options.timeout), Effect.ignore)
    )
  )
})

/**
 * Removes the temporary files of `file` (from any process) last modified more
 * than `staleAfter` ago: what a crash mid-write left behind. Younger ones may
 * belong to a writer at work. Returns how many were removed.
 *
 * @internal
 */
export const removeLeftovers = Effect.fnUntraced(
  function*(file: string, staleAfter: Duration.Duration, options: FileOptions) {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const directory = path.dirname(file)
    const prefix = `${path.basename(file)}.`
    const names = yield* fs.readDirectory(directory).pipe(
      Effect.catchIf(isReason("NotFound"), () => Effect.succeed([])),
      bounded(`list ${directory}`, options.timeout)
    )
    const now = yield* Clock.currentTimeMillis
    let removed = 0
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith(temporarySuffix)) continue
      const leftover = path.join(directory, name)
      // Another process starting at the same moment may remove it first.
      const info = yield* statIfAny(fs, leftover, options)
      if (Option.isNone(info) || info.value.type !== "File") continue
      const modified = Option.match(info.value.mtime, { onNone: () => 0, onSome: (date) => date.getTime() })
      if (now - modified < Duration.toMillis(staleAfter)) continue
      yield* fs.remove(leftover).pipe(
        Effect.catchIf(isReason("NotFound"), () => Effect.void),
        bounded(`remove ${leftover}`, options.timeout)
      )
      removed++
    }
    return removed
  }
)
