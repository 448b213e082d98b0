/**
 * Locking a cache file: an in-process mutex per file (concurrent accesses of one process wait their
 * turn) and a cross-process lock file, `<cache file>.lockfile`, created exclusively (`O_EXCL`).
 * The lock file holds the owner's pid, when it was taken and a random nonce, so that a lock left
 * behind by a process that exited or that is older than `staleLockMs` can be recognised and
 * removed, and so that an owner never removes a lock that is no longer its own.
 */

import { MsalError } from "../errors.js";
import type { LogSink } from "../logging.js";
import { nodeCrypto, nodeFsPromises, nodePath } from "./builtins.js";

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
  readonly #waiters: Array<() => void> = [];

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
      const timer = setTimeout(
        () => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          resolve(false);
        },
        Math.max(0, timeoutMs),
      );
      this.#waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#locked = false;
  }
}

/** One mutex per lock file in this process, whatever the number of FilePersistence objects. */
const mutexes = new Map<string, Mutex>();

function mutexFor(lockPath: string): Mutex {
  let mutex = mutexes.get(lockPath);
  if (!mutex) {
    mutex = new Mutex();
    mutexes.set(lockPath, mutex);
  }
  return mutex;
}

export interface FileLockOptions {
  /** How long to wait for the lock before throwing {@link CacheLockTimeoutError}. */
  timeoutMs: number;
  /** A lock file older than this is taken to be left behind by a crashed process, and removed. */
  staleMs: number;
  log: LogSink;
}

/** What a lock file says about its owner. */
interface LockInfo {
  pid: number | undefined;
  text: string;
  ino: number;
  mtimeMs: number;
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
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          try {
            await this.#removeOwnLockFile(text);
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
    const text = `${process.pid}\n${new Date().toISOString()}\n${nodeCrypto().randomBytes(8).toString("hex")}\n`;
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
      const match = /^\s*(\d+)/.exec(text);
      return { pid: match ? Number(match[1]) : undefined, text, ino: info.ino, mtimeMs: info.mtimeMs };
    } catch (e) {
      if (errorCode(e) === "ENOENT") return undefined;
      throw e;
    }
  }

  /** Why a lock is stale, or `undefined` when it is not. */
  #staleness(lock: LockInfo): string | undefined {
    const age = Date.now() - lock.mtimeMs;
    if (age > this.#options.staleMs)
      return `it is ${Math.round(age)} ms old, older than staleLockMs (${this.#options.staleMs} ms)`;
    if (lock.pid !== undefined && lock.pid !== process.pid && !processIsAlive(lock.pid))
      return `its process ${lock.pid} has exited`;
    return undefined;
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
      const reason = this.#staleness(again);
      if (reason === undefined || again.ino !== lock.ino || again.text !== lock.text) return false;
      await nodeFsPromises()
        .unlink(this.lockPath)
        .catch((e: unknown) => {
          if (errorCode(e) !== "ENOENT") throw e;
        });
      this.#options.log(
        "warning",
        `Removed the stale token cache lock file ${this.lockPath} (${reason}); the process that held it did not release it.`,
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
    const holder = lock?.pid !== undefined ? `process ${lock.pid}` : "another process";
    const since = lock ? ` since ${new Date(lock.mtimeMs).toISOString()}` : "";
    return new CacheLockTimeoutError(
      this.lockPath,
      `Timed out after ${this.#options.timeoutMs} ms waiting for the token cache lock file ${this.lockPath}, held by ${holder}${since}. ` +
        `If no process is using the cache, delete ${this.lockPath}. A lock file is also removed by itself once it is older than staleLockMs (${this.#options.staleMs} ms) or its process has exited.`,
    );
  }

  /** Removes the lock file if it is still ours: after a stale-lock recovery it may be another's. */
  async #removeOwnLockFile(text: string): Promise<void> {
    const lock = await this.#readLock(this.lockPath);
    if (lock?.text !== text) {
      this.#options.log(
        "warning",
        `The token cache lock file ${this.lockPath} was removed or replaced while this process held it (the access lasted longer than staleLockMs, ${this.#options.staleMs} ms); other processes may have written the cache meanwhile.`,
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
