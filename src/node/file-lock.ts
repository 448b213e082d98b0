/**
 * Locking a cache file: an in-process mutex per file and a cross-process lock file,
 * `<cache file>.lockfile`, created exclusively (`O_EXCL`). It starts with `<pid> <program>`, the line
 * MSAL Python's msal-extensions writes there (it never reads the file: it waits for it to go), then
 * where that pid means something (host, boot id, PID namespace), when it was taken and a nonce (so
 * an owner never removes a lock that is no longer its own). A lock is broken only when provably
 * stale: older than `staleLockMs`, or its process has exited and it was taken on this host, boot and
 * PID namespace. A pid from a container, another host or a writer that does not say where it ran
 * (msal-extensions, older msal-ts) proves nothing here: such a lock is judged by its age alone.
 */

import { MsalError } from "../errors.js";
import type { LogSink } from "../logging.js";
import { nodeCrypto, nodeFs, nodeFsPromises, nodePath } from "./builtins.js";

/**
 * The token cache file stayed locked longer than `lockTimeoutMs`: another process (or another
 * access in this process) held it all that time. The message names the lock file; delete it when
 * no process is using the cache.
 *
 * @example
 * ```ts
 * try {
 *   await app.acquireTokenSilent(scopes, account);
 * } catch (e) {
 *   if (e instanceof CacheLockTimeoutError) console.error(`Is another app stuck? ${e.lockPath}`);
 * }
 * ```
 */
export class CacheLockTimeoutError extends MsalError {
  declare readonly code: "cache_lock_timeout";
  /** The lock file that stayed locked. */
  readonly lockPath: string;

  constructor(lockPath: string, message: string) {
    super("cache_lock_timeout", message);
    this.lockPath = lockPath;
  }
}

/** A mutex whose waits can time out. Release hands the lock to the next waiter in order. */
class Mutex {
  #locked = false;
  /** In arrival order; a waiter that gives up removes itself. */
  readonly #waiters = new Set<() => void>();

  /** Resolves `true` once held, or `false` after `timeoutMs` without getting it. */
  acquire(timeoutMs: number): Promise<boolean> {
    if (!this.#locked) {
      this.#locked = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      // Still waiting when the time is up: give up (a waiter already handed the lock resolved true).
      const timer = setTimeout(() => resolve(!this.#waiters.delete(waiter)), Math.max(0, timeoutMs));
      this.#waiters.add(waiter);
    });
  }

  release(): void {
    const [next] = this.#waiters;
    if (next) this.#waiters.delete(next);
    else this.#locked = false;
    next?.();
  }
}

/** One mutex per lock file in this process, whatever the number of FilePersistence objects. */
const mutexes = new Map<string, Mutex>();

function mutexFor(lockPath: string): Mutex {
  const mutex = mutexes.get(lockPath) ?? new Mutex();
  mutexes.set(lockPath, mutex);
  return mutex;
}

export interface FileLockOptions {
  /** How long to wait for the lock before throwing {@link CacheLockTimeoutError}. */
  timeoutMs: number;
  /** A lock file older than this is taken to be left behind by a crashed process, and removed. */
  staleMs: number;
  log: LogSink;
}

/**
 * Where a pid is meaningful: the same pid names the same process only on one host, in one boot of
 * its kernel (`/proc/sys/kernel/random/boot_id`) and in one PID namespace (`/proc/self/ns/pid`,
 * see pid_namespaces(7)). Fields this system does not have are empty.
 */
type PidSpace = Record<"host" | "bootId" | "pidNamespace", string>;

/** What a lock file says about its owner; `space` is missing when it does not say where it ran. */
interface LockInfo {
  pid: number | undefined;
  program: string;
  space: PidSpace | undefined;
  text: string;
  ino: number;
  mtimeMs: number;
}

let ownSpace: PidSpace | undefined;

/** A value that fits on one line of the lock file. */
const oneLine = (value: string): string => value.replace(/\p{Cc}+/gu, " ").trim();

/** What `get` reads, on one line, or `""` where this system has no such thing. */
function readOr(get: () => string): string {
  try {
    return oneLine(get());
  } catch {
    return "";
  }
}

/** This process's pid space, read once: a process never changes its own PID namespace. */
function ownPidSpace(): PidSpace {
  ownSpace ??= {
    host: readOr(() => process.getBuiltinModule("node:os").hostname()),
    bootId: readOr(() => nodeFs().readFileSync("/proc/sys/kernel/random/boot_id", "utf8")),
    pidNamespace: readOr(() => nodeFs().readlinkSync("/proc/self/ns/pid")),
  };
  return ownSpace;
}

/** This process's lock file: `<pid> <program>` as msal-extensions writes it, then `key=value` lines. */
function lockFileText(): string {
  const space = ownPidSpace();
  const nonce = nodeCrypto().randomBytes(8).toString("hex");
  const program = oneLine(process.argv[1] ?? process.argv0) || "node";
  return (
    `${process.pid} ${program}\nhost=${space.host}\nboot_id=${space.bootId}\npid_namespace=${space.pidNamespace}\n` +
    `taken=${new Date().toISOString()}\nnonce=${nonce}\n`
  );
}

/** Reads a lock file's text: ours, msal-extensions' `<pid> <argv[0]>`, or anything else. */
function parseLockText(text: string): Pick<LockInfo, "pid" | "program" | "space"> {
  const [first = "", ...rest] = text.split("\n");
  const owner = /^\s*(\d+)(?:[ \t]+(.*))?$/.exec(first);
  const fields = new Map<string, string>();
  for (const line of rest) {
    const eq = line.indexOf("=");
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const field = (key: string): string => fields.get(key) ?? "";
  const space = { host: field("host"), bootId: field("boot_id"), pidNamespace: field("pid_namespace") };
  const pid = owner ? Number(owner[1]) : undefined;
  return { pid, program: owner?.[2]?.trim() ?? "", space: fields.has("host") ? space : undefined };
}

/**
 * Why the lock's pid says nothing about its process here, or `undefined` when it does (same host,
 * boot and PID namespace; on Linux, boot id and namespace must be known for that).
 */
function pidUncheckable(lock: LockInfo): string | undefined {
  const own = ownPidSpace();
  const { space } = lock;
  if (!space)
    return "the lock file does not say where its process runs: MSAL Python's msal-extensions and older msal-ts write only the pid";
  if (space.host !== own.host) return `it was taken on host ${space.host || "(unnamed)"}`;
  if (space.bootId !== own.bootId)
    return `it was taken under another boot, boot id ${space.bootId || "unknown"}`;
  if (space.pidNamespace !== own.pidNamespace)
    return `it was taken in another PID namespace, ${space.pidNamespace || "unknown"}, such as a container sharing this directory`;
  if (process.platform === "linux" && (own.bootId === "" || own.pidNamespace === ""))
    return "this system does not show which boot and PID namespace a process belongs to";
  return undefined;
}

/** The lock's owner as messages name it; one whose pid means nothing here says where it ran. */
function ownerOf(lock: LockInfo | undefined): string {
  if (lock?.pid === undefined) return "another process";
  const elsewhere = lock.space ? pidUncheckable(lock) : undefined;
  const notes = [lock.program, elsewhere && `${elsewhere}, so only its age counts`].filter(Boolean);
  return `process ${lock.pid}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
}

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether a process exists: `kill(pid, 0)` fails with ESRCH when it does not (EPERM: it does, as another user). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errorCode(e) !== "ESRCH";
  }
}

/** A held lock: release it exactly once. */
export interface HeldLock {
  release(): Promise<void>;
}

/**
 * The lock of one cache file: `acquire()` takes the in-process mutex, then the lock file, waiting
 * with short randomized backoff until `timeoutMs` has passed.
 */
export class FileLock {
  readonly lockPath: string;
  readonly #options: FileLockOptions;
  readonly #mutex: Mutex;

  constructor(lockPath: string, options: FileLockOptions) {
    this.lockPath = lockPath;
    this.#options = options;
    this.#mutex = mutexFor(lockPath);
  }

  async acquire(): Promise<HeldLock> {
    const deadline = Date.now() + this.#options.timeoutMs;
    if (!(await this.#mutex.acquire(this.#options.timeoutMs)))
      throw new CacheLockTimeoutError(
        this.lockPath,
        `Timed out after ${this.#options.timeoutMs} ms waiting for the token cache lock ${this.lockPath}: another access in this process held it all that time (is a cache access waiting on itself?).`,
      );
    try {
      const text = await this.#createLockFile(deadline);
      const takenAt = Date.now();
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          try {
            await this.#removeOwnLockFile(text, takenAt);
          } finally {
            this.#mutex.release();
          }
        },
      };
    } catch (e) {
      this.#mutex.release();
      throw e;
    }
  }

  /** Creates the lock file exclusively; returns what it wrote (the owner's identity). */
  async #createLockFile(deadline: number): Promise<string> {
    const text = lockFileText();
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await nodeFsPromises().open(this.lockPath, "wx", 0o600);
        try {
          await handle.writeFile(text, "utf8");
        } finally {
          await handle.close();
        }
        return text;
      } catch (e) {
        const code = errorCode(e);
        if (code === "ENOENT") {
          await nodeFsPromises().mkdir(nodePath().dirname(this.lockPath), { recursive: true, mode: 0o700 });
          continue;
        }
        // EPERM: Windows reports a file being deleted this way.
        if (code !== "EEXIST" && code !== "EPERM") throw e;
      }
      if (await this.#removeIfStale()) continue;
      const now = Date.now();
      if (now >= deadline) throw await this.#timeoutError();
      // Short randomized backoff, so that contenders do not retry in lockstep.
      const backoff = Math.min(2 + Math.random() * 8 * Math.min(attempt + 1, 4), deadline - now);
      await sleep(backoff);
    }
  }

  async #readLock(path: string): Promise<LockInfo | undefined> {
    try {
      const [info, text] = await Promise.all([
        nodeFsPromises().stat(path),
        nodeFsPromises().readFile(path, "utf8"),
      ]);
      return { ...parseLockText(text), text, ino: info.ino, mtimeMs: info.mtimeMs };
    } catch (e) {
      if (errorCode(e) === "ENOENT") return undefined;
      throw e;
    }
  }

  /**
   * Why a lock is stale and what became of its owner, or `undefined` when it is not: only a lock
   * older than `staleMs`, or one whose process provably exited, is stale.
   */
  #staleness(lock: LockInfo): [reason: string, owner: string] | undefined {
    const { pid } = lock;
    const age = Date.now() - lock.mtimeMs;
    const uncheckable = pidUncheckable(lock);
    const exited =
      pid !== undefined && pid !== process.pid && uncheckable === undefined && !processIsAlive(pid);
    if (age <= this.#options.staleMs)
      return exited
        ? [`its process ${pid} has exited`, "the process that held it did not release it"]
        : undefined;
    const owner =
      pid === undefined
        ? "it names no process"
        : uncheckable !== undefined
          ? `whether its process ${pid} still runs cannot be seen from here, because ${uncheckable}, so only its age counted`
          : exited
            ? `its process ${pid} has exited without releasing it`
            : `its process ${pid} still runs here but held it longer than staleLockMs allows`;
    return [`it is ${Math.round(age)} ms old, older than staleLockMs (${this.#options.staleMs} ms)`, owner];
  }

  /**
   * Removes the lock file when it is stale; returns whether the lock is gone (retry at once).
   * Removal happens under a second exclusive file (`.lockfile.break`) and after checking again
   * that the lock file is still the stale one, so that two processes recovering at once never
   * remove a fresh lock that one of them has just taken.
   */
  async #removeIfStale(): Promise<boolean> {
    const lock = await this.#readLock(this.lockPath);
    if (!lock) return true;
    if (this.#staleness(lock) === undefined) return false;
    const breaker = `${this.lockPath}.break`;
    try {
      await (await nodeFsPromises().open(breaker, "wx", 0o600)).close();
    } catch (e) {
      if (errorCode(e) !== "EEXIST" && errorCode(e) !== "EPERM") throw e;
      // Another process is removing it; a breaker left by a crash is removed after a while.
      try {
        if (
          Date.now() - (await nodeFsPromises().stat(breaker)).mtimeMs >
          Math.min(this.#options.staleMs, 5_000)
        )
          await nodeFsPromises().unlink(breaker);
      } catch {
        // Gone already.
      }
      return false;
    }
    try {
      const again = await this.#readLock(this.lockPath);
      if (!again) return true;
      const stale = this.#staleness(again);
      if (stale === undefined || again.ino !== lock.ino || again.text !== lock.text) return false;
      await nodeFsPromises()
        .unlink(this.lockPath)
        .catch((e: unknown) => {
          if (errorCode(e) !== "ENOENT") throw e;
        });
      this.#options.log(
        "warning",
        `Removed the stale token cache lock file ${this.lockPath} (${stale[0]}); ${stale[1]}.`,
      );
      return true;
    } finally {
      await nodeFsPromises()
        .unlink(breaker)
        .catch(() => {});
    }
  }

  async #timeoutError(): Promise<CacheLockTimeoutError> {
    const lock = await this.#readLock(this.lockPath).catch(() => undefined);
    const since = lock ? ` since ${new Date(lock.mtimeMs).toISOString()}` : "";
    return new CacheLockTimeoutError(
      this.lockPath,
      `Timed out after ${this.#options.timeoutMs} ms waiting for the token cache lock file ${this.lockPath}, held by ${ownerOf(lock)}${since}. ` +
        `If no process is using the cache, delete ${this.lockPath}. A lock file is also removed by itself once it is older than staleLockMs (${this.#options.staleMs} ms) or its process has exited.`,
    );
  }

  /** Removes the lock file if it is still ours: after a stale-lock recovery it may be another's. */
  async #removeOwnLockFile(text: string, takenAt: number): Promise<void> {
    const lock = await this.#readLock(this.lockPath);
    if (lock?.text !== text) {
      const held = Date.now() - takenAt;
      const staleMs = this.#options.staleMs;
      const cause =
        held > staleMs
          ? `longer than staleLockMs (${staleMs} ms), so another process took it as stale`
          : `less than staleLockMs (${staleMs} ms), so another program removed or overwrote it without waiting ` +
            "(MSAL Python's msal-extensions with portalocker takes the file after waiting 5 s; an older msal-ts in another PID namespace takes this process for exited), or it was deleted by hand";
      const now = lock ? ` It is now held by ${ownerOf(lock)}.` : "";
      this.#options.log(
        "warning",
        `The token cache lock file ${this.lockPath} was removed or replaced while this process held it for ${held} ms, ${cause}; other processes may have written the cache meanwhile.${now}`,
      );
      return;
    }
    try {
      await nodeFsPromises().unlink(this.lockPath);
    } catch (e) {
      if (errorCode(e) !== "ENOENT") throw e;
    }
  }
}
