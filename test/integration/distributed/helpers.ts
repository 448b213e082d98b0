/**
 * Shared pieces of the distributed cache tests: the Redis starters of test/support/redis.ts, an
 * emulator directory with 40 tenants and extra resource apps, and a PartitionStore wrapper that
 * records the keys each call touches.
 */
import {
  CONTOSO_TENANT_ID,
  DAEMON_APP_ID,
  type Directory,
  FABRIKAM_TENANT_ID,
  MIDDLE_TIER_APP_ID,
  PUBLIC_APP_ID,
} from "../../../emulator/index.js";
import type { PartitionStore, StoredPartition } from "../../../src/node/index.js";

export {
  type ClusterNode,
  hasRedisServer,
  REDIS_SERVER,
  type Redis,
  type RedisCluster,
  type RedisClusterServer,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
} from "../../support/redis.js";

/** 40 tenants: Contoso, Fabrikam and 38 more. */
export const TENANTS = [
  { id: CONTOSO_TENANT_ID, domain: "contoso.onmicrosoft.com" },
  { id: FABRIKAM_TENANT_ID, domain: "fabrikam.onmicrosoft.com" },
  ...Array.from({ length: 38 }, (_, i) => ({
    id: `7e000000-0000-4000-8000-${String(i + 3).padStart(12, "0")}`,
    domain: `tenant${i + 3}.test`,
  })),
];

/** App ids usable as resources (`<id>/.default`): the emulator accepts any directory app as one. */
export const RESOURCE_APP_IDS = Array.from(
  { length: 16 },
  (_, i) => `5e000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`,
);

export const DAEMON_SECRET = "daemon-app-secret-value";
export const MIDDLE_TIER_SECRET = "middle-tier-secret-value";

/** The emulator directory of these tests: 40 tenants, a daemon, a middle tier, a public client and resources. */
export function distributedDirectory(): Directory {
  return {
    tenants: TENANTS.map((t, i) => ({ ...t, name: `Tenant ${i + 1}` })),
    users: [
      {
        username: "alice@contoso.onmicrosoft.com",
        password: "alice-P@ss1",
        tenant: CONTOSO_TENANT_ID,
        kind: "managed",
        name: "Alice Adams",
      },
      {
        username: "bob@contoso.onmicrosoft.com",
        password: "bob-P@ss1",
        tenant: CONTOSO_TENANT_ID,
        kind: "managed",
        name: "Bob Brown",
      },
    ],
    apps: [
      {
        clientId: PUBLIC_APP_ID,
        kind: "public",
        tenant: CONTOSO_TENANT_ID,
        displayName: "Contoso Desktop",
        redirectUris: ["http://localhost"],
      },
      { clientId: DAEMON_APP_ID, kind: "daemon", tenant: CONTOSO_TENANT_ID, secret: DAEMON_SECRET },
      {
        clientId: MIDDLE_TIER_APP_ID,
        kind: "middle-tier",
        tenant: CONTOSO_TENANT_ID,
        secret: MIDDLE_TIER_SECRET,
        scopes: [`api://${MIDDLE_TIER_APP_ID}/access_as_user`],
      },
      ...RESOURCE_APP_IDS.map((clientId, i) => ({
        clientId,
        kind: "confidential" as const,
        tenant: CONTOSO_TENANT_ID,
        displayName: `Resource ${i + 1}`,
        secret: `resource-${i + 1}-secret`,
      })),
    ],
  };
}

export interface StoreCall {
  op: "get" | "compareAndSet";
  key: string;
  /** compareAndSet: whether the store took the write. */
  ok?: boolean;
}

/** A PartitionStore that records every call (and can hold back a write until told). */
export interface RecordingStore extends PartitionStore {
  calls: StoreCall[];
  keys(): Set<string>;
  conflicts(): number;
}

export function recordingStore(
  inner: PartitionStore,
  options: { beforeCompareAndSet?: (key: string, attempt: number) => Promise<void> } = {},
): RecordingStore {
  const calls: StoreCall[] = [];
  let attempts = 0;
  return {
    calls,
    keys: () => new Set(calls.map((c) => c.key)),
    conflicts: () => calls.filter((c) => c.op === "compareAndSet" && c.ok === false).length,
    async get(key: string): Promise<StoredPartition | undefined> {
      calls.push({ op: "get", key });
      return inner.get(key);
    },
    async compareAndSet(key, value, expectedVersion, expiresAt) {
      await options.beforeCompareAndSet?.(key, ++attempts);
      const ok = await inner.compareAndSet(key, value, expectedVersion, expiresAt);
      calls.push({ op: "compareAndSet", key, ok });
      return ok;
    },
  };
}

/** A promise with its resolve function. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
