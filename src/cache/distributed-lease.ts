/**
 * Cross-instance single-flight for the distributed cache: a short lease per partition and request
 * in the store, so that when app instances miss one partition at once, one sends the token request
 * and the others wait for its write, each bounded so that a dead lease holder blocks no one for
 * long. Portable: no Node.js built-ins.
 */

import { pause } from "../pause.js";
import { encodeBase64Url } from "../protocol/base64.js";
import { sha256 } from "../protocol/pkce.js";
import type { CoordinatedRequest } from "./plugin.js";

/** What the coordination needs of a store: leases, and the version of a partition. */
export interface LeaseStore {
  acquireLease(key: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(key: string, owner: string): Promise<void>;
  /** The partition's version now (`undefined`: none stored). */
  version(): Promise<string | undefined>;
}

/**
 * `<store key>:lease:<SHA-256 of the request key, base64url>`: after the partition's key, so the
 * Redis Cluster hash tag in it puts the lease on the partition's slot; hashed, because a request
 * key can be long and holds the request's extra parameters.
 */
export async function leaseKeyOf(storeKey: string, requestKey: string): Promise<string> {
  return `${storeKey}:lease:${encodeBase64Url(await sha256(requestKey))}`;
}

/** The first pause between polls of a waiter; it grows by half with each poll, up to MAX_POLL_MS. */
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

/**
 * Sends `request` while holding the partition's lease, or waits for the holder's write and
 * answers from the cache. Whoever takes the lease looks the token up again first (its own lookup
 * may predate a holder that has since written and released), and sends only if it still misses:
 * so while holders live, one request goes out. A waiter polls (with back-off) for the partition's
 * version to change, then looks up again, and for the lease to be free (its holder released it or
 * it expired), then takes it. After `leaseMs` it looks up once more and otherwise sends without a
 * lease.
 */
export async function withLease<T>(
  store: LeaseStore,
  storeKey: string,
  leaseMs: number,
  request: CoordinatedRequest<T>,
): Promise<T> {
  const leaseKey = await leaseKeyOf(storeKey, request.requestKey);
  const owner = crypto.randomUUID();
  const release = () => store.releaseLease(leaseKey, owner).catch(() => {});
  /** With the lease taken: the token if it is there by now, else the request (released after its write). */
  const asHolder = async (): Promise<T> => {
    try {
      const found = await request.lookupAgain();
      if (found !== undefined) return found;
      return await request.send();
    } finally {
      // The send saved its tokens before resolving: waiters who see the lease free find them.
      await release();
    }
  };
  if (await store.acquireLease(leaseKey, owner, leaseMs)) return asHolder();
  const deadline = Date.now() + leaseMs;
  let seen = await store.version();
  for (let poll = FIRST_POLL_MS; Date.now() < deadline; poll = Math.min(MAX_POLL_MS, poll * 1.5)) {
    await pause(Math.min(poll, Math.max(0, deadline - Date.now())), request.signal);
    const version = await store.version();
    if (version !== seen) {
      seen = version;
      const found = await request.lookupAgain();
      if (found !== undefined) return found;
    }
    if (await store.acquireLease(leaseKey, owner, leaseMs)) return asHolder();
  }
  return (await request.lookupAgain()) ?? request.send();
}
