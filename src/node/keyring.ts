/**
 * The OS keyring, through the optional package `@napi-rs/keyring` (prebuilt binaries of the Rust
 * `keyring` crate for Linux, macOS and Windows): the Secret Service on Linux, the Keychain on macOS,
 * the Credential Manager on Windows. The package is imported the first time a keyring is used, so
 * msal-ts installs and imports without it (its native part is what breaks installs: see
 * docs/caching.md).
 */

import { MsalError } from "../errors.js";

/**
 * No usable OS keyring: the optional package `@napi-rs/keyring` is missing, or the keyring service
 * does not answer (on Linux: no Secret Service on the session D-Bus, as on a headless server or in
 * a container), or it refused the item. The message names the cause and the two ways out: start a
 * keyring, or opt in to a plain file with `allowPlaintextFallback: true`.
 *
 * @example
 * ```ts
 * let tokenCache: PersistedTokenCache | undefined;
 * try {
 *   tokenCache = new PersistedTokenCache(await securePersistence("/home/me/.my-cli/token-cache"));
 * } catch (e) {
 *   if (e instanceof KeyringUnavailableError) console.error(e.message); // names the cause and the fix
 *   else throw e;
 * }
 * ```
 */
export class KeyringUnavailableError extends MsalError {
  declare readonly code: "keyring_unavailable";
  /** Why the keyring cannot be used, without the advice the message adds. */
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown }) {
    super("keyring_unavailable", `${reason}. ${WAYS_OUT}`, options);
    this.reason = reason;
  }
}

/** The part of `@napi-rs/keyring`'s `AsyncEntry` msal-ts uses (declared here: the package is optional). */
interface AsyncEntry {
  setPassword(password: string): Promise<void>;
  getPassword(): Promise<string | null>;
  deletePassword(): Promise<boolean>;
}

interface KeyringBinding {
  AsyncEntry: new (
    service: string,
    account: string,
    options?: { linux?: { store?: "secret-service" | "keyutils" } },
  ) => AsyncEntry;
}

/** The package's name, in a variable so that bundlers do not try to bundle its native parts. */
const BINDING = "@napi-rs/keyring";
let binding: Promise<KeyringBinding> | undefined;

/** What to do when there is no keyring: said by every error about it. */
export const WAYS_OUT =
  "Either make a keyring available (on Linux, a Secret Service such as gnome-keyring-daemon on the session D-Bus, unlocked; " +
  "install the optional package @napi-rs/keyring where it is missing), or accept a token cache in a plain file readable only " +
  "by you (mode 0600) by passing `allowPlaintextFallback: true` (the msal-ts CLI: --cache-file <path>).";

/** Loads the binding once; throws KeyringUnavailableError when it is not installed or does not load. */
export async function keyringBinding(): Promise<KeyringBinding> {
  binding ??= import(BINDING).then((module: { default?: KeyringBinding } & Partial<KeyringBinding>) => {
    const loaded = module.AsyncEntry ? module : module.default;
    if (!loaded?.AsyncEntry) throw new Error(`${BINDING} has no AsyncEntry: a version before 1.1?`);
    return loaded as KeyringBinding;
  });
  try {
    return await binding;
  } catch (e) {
    binding = undefined;
    const detail = e instanceof Error ? e.message : String(e);
    throw new KeyringUnavailableError(
      `The OS keyring cannot be used: the optional package ${BINDING} could not be loaded (${detail})`,
      { cause: e },
    );
  }
}

/**
 * One item in the OS keyring, named by service and account. On Linux it is kept in the Secret
 * Service only: the binding would otherwise fall back to the kernel keyring, which forgets the
 * item at logout or reboot (a cache that vanishes looks like a bug, not like a missing keyring).
 */
export interface KeyringItem {
  /** The item's text; `undefined` when there is none. */
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
  /** Removes the item; returns whether there was one. */
  remove(): Promise<boolean>;
  /** The item, as messages name it. */
  readonly description: string;
}

/** Where the item lives on this platform, as messages and the CLI say it. */
export function keyringName(): string {
  if (process.platform === "darwin") return "the macOS Keychain";
  if (process.platform === "win32") return "the Windows Credential Manager";
  return "the Secret Service (D-Bus org.freedesktop.secrets)";
}

/** The keyring item `service`/`account`; every call loads the binding first (once). */
export function keyringItem(service: string, account: string): KeyringItem {
  const description = `the item service=${JSON.stringify(service)} account=${JSON.stringify(account)} in ${keyringName()}`;
  let entry: AsyncEntry | undefined;
  /** Runs `op` on the entry; any failure of the keyring (connecting included) is KeyringUnavailableError. */
  const run = async <T>(doing: string, op: (item: AsyncEntry) => Promise<T>): Promise<T> => {
    const { AsyncEntry } = await keyringBinding();
    try {
      // On Linux, connecting to the bus happens here: a missing Secret Service fails already.
      entry ??= new AsyncEntry(service, account, { linux: { store: "secret-service" } });
      return await op(entry);
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      throw new KeyringUnavailableError(`Could not ${doing} ${description}: ${detail}`, { cause: e });
    }
  };
  return {
    description,
    read: () => run("read", async (item) => (await item.getPassword()) ?? undefined),
    write: (text) => run("write", (item) => item.setPassword(text)),
    remove: () => run("remove", (item) => item.deletePassword()),
  };
}
