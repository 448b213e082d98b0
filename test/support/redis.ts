/**
 * Throwaway Redis for tests and benchmarks: one `redis-server`, or a Redis Cluster of masters in
 * cluster mode, each on a free port of 127.0.0.1 without persistence. Uses only Node and the
 * `redis` package so that the benchmarks (compiled into dist/) can import it too.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, createCluster } from "redis";

export const REDIS_SERVER = "/usr/bin/redis-server";
export const hasRedisServer = existsSync(REDIS_SERVER);

export type Redis = ReturnType<typeof createClient>;
export type RedisCluster = ReturnType<typeof createCluster>;

export interface RedisServer {
  url: string;
  port: number;
  /** A new connected client (each app instance gets its own, as separate processes would). */
  connect(): Promise<Redis>;
  stop(): Promise<void>;
}

export interface ClusterNode {
  host: string;
  port: number;
  /** The node's cluster id (`CLUSTER MYID`). */
  id: string;
}

export interface RedisClusterServer {
  nodes: ClusterNode[];
  /** A new connected cluster client (each app instance gets its own, as separate processes would). */
  connect(): Promise<RedisCluster>;
  /** A plain client to one node, for admin commands (closed by `stop`). */
  admin(node: ClusterNode): Promise<Redis>;
  /** `CLUSTER KEYSLOT key`. */
  keySlot(key: string): Promise<number>;
  /** The master that serves `slot` now. */
  ownerOf(slot: number): Promise<ClusterNode>;
  /**
   * Moves `slot` to `to` the way `redis-cli --cluster reshard` does: IMPORTING on the target,
   * MIGRATING on the source, `MIGRATE` of its keys in batches, then `SETSLOT NODE` on every master.
   * `whileMigrating` runs after the keys moved and before ownership is final: in that window the
   * source answers ASK for every key of the slot.
   */
  migrateSlot(
    slot: number,
    to: ClusterNode,
    options?: { whileMigrating?: () => Promise<void> },
  ): Promise<{ from: ClusterNode; keysMoved: number }>;
  stop(): Promise<void>;
}

/** A free TCP port of 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

function spawnRedis(args: string[]): Spawned {
  const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, output: () => output, exited };
}

async function stopProcess(spawned: Spawned): Promise<void> {
  if (spawned.child.exitCode === null && spawned.child.signalCode === null) {
    spawned.child.kill("SIGTERM");
    await spawned.exited;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects a plain client, retrying until the server answers PING (10 s bound). */
async function connectWhenUp(url: string, spawned: Spawned): Promise<Redis> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (spawned.child.exitCode !== null)
      throw new Error(`redis-server exited at start:\n${spawned.output()}`);
    const client = createClient({ url, socket: { reconnectStrategy: false } });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (error) {
      if (client.isOpen) client.destroy();
      if (Date.now() > deadline) {
        spawned.child.kill("SIGKILL");
        throw new Error(`redis-server did not answer at ${url}: ${String(error)}\n${spawned.output()}`);
      }
      await sleep(50);
    }
  }
}

const NO_PERSISTENCE = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];

/** Starts `redis-server` on a free port of 127.0.0.1 without persistence, and waits until it answers. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const spawned = spawnRedis(["--port", String(port), ...NO_PERSISTENCE]);
  const url = `redis://127.0.0.1:${port}`;
  const clients: Redis[] = [await connectWhenUp(url, spawned)];
  return {
    url,
    port,
    connect: async () => {
      const client = createClient({ url, socket: { reconnectStrategy: false } });
      client.on("error", () => {});
      await client.connect();
      clients.push(client);
      return client;
    },
    stop: async () => {
      for (const client of clients) if (client.isOpen) client.destroy();
      await stopProcess(spawned);
    },
  };
}

const SLOTS = 16384;

async function command(client: Redis, args: string[]): Promise<string> {
  const reply = await client.sendCommand(args);
  return typeof reply === "string" ? reply : String(reply);
}

/**
 * Starts a Redis Cluster of `masters` masters (no replicas), each a `redis-server --cluster-enabled
 * yes` on a free port with its nodes.conf in a temporary directory, splits the 16,384 slots evenly
 * (`CLUSTER ADDSLOTSRANGE`), joins them (`CLUSTER MEET`) and waits until every node reports
 * `cluster_state:ok` and knows every master's slots.
 */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterServer> {
  const masters = options.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), "redis-cluster-"));
  const processes: Spawned[] = [];
  const admins = new Map<string, Redis>();
  const clusters: RedisCluster[] = [];
  const stop = async () => {
    for (const client of clusters) if (client.isOpen) client.destroy();
    for (const client of admins.values()) if (client.isOpen) client.destroy();
    await Promise.all(processes.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const spawned = spawnRedis([
        "--port",
        String(port),
        ...NO_PERSISTENCE,
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--cluster-node-timeout",
        "5000",
        "--dir",
        dir,
      ]);
      processes.push(spawned);
      const admin = await connectWhenUp(`redis://127.0.0.1:${port}`, spawned);
      const id = await command(admin, ["CLUSTER", "MYID"]);
      admins.set(id, admin);
      nodes.push({ host: "127.0.0.1", port, id });
    }
    const adminOf = (node: ClusterNode): Redis => {
      const client = admins.get(node.id);
      if (!client) throw new Error(`no admin connection to ${node.host}:${node.port}`);
      return client;
    };
    for (const [i, node] of nodes.entries()) {
      const admin = adminOf(node);
      const first = Math.floor((SLOTS * i) / masters);
      const last = Math.floor((SLOTS * (i + 1)) / masters) - 1;
      await command(admin, ["CLUSTER", "ADDSLOTSRANGE", String(first), String(last)]);
      // Distinct epochs up front, so that no node has to win a collision before the slots settle.
      await command(admin, ["CLUSTER", "SET-CONFIG-EPOCH", String(i + 1)]);
    }
    const [seed] = nodes;
    if (!seed) throw new Error("a cluster needs at least one master");
    for (const node of nodes.slice(1))
      await command(adminOf(node), ["CLUSTER", "MEET", seed.host, String(seed.port)]);
    const deadline = Date.now() + 20_000;
    for (;;) {
      let ready = true;
      for (const node of nodes) {
        const admin = adminOf(node);
        const info = await command(admin, ["CLUSTER", "INFO"]);
        const slots = (await admin.sendCommand(["CLUSTER", "SLOTS"])) as unknown[];
        if (!info.includes("cluster_state:ok") || slots.length !== masters) ready = false;
      }
      if (ready) break;
      if (Date.now() > deadline)
        throw new Error(
          `the cluster did not reach cluster_state:ok:\n${processes.map((p) => p.output()).join("\n")}`,
        );
      await sleep(50);
    }
    const keySlot = async (key: string) =>
      Number(await adminOf(seed).sendCommand(["CLUSTER", "KEYSLOT", key]));
    const ownerOf = async (slot: number): Promise<ClusterNode> => {
      const ranges = (await adminOf(seed).sendCommand(["CLUSTER", "SLOTS"])) as unknown[][];
      for (const range of ranges) {
        const [first, last, master] = range as [number, number, unknown[]];
        if (slot < Number(first) || slot > Number(last)) continue;
        const port = Number(master[1]);
        const node = nodes.find((n) => n.port === port);
        if (node) return node;
      }
      throw new Error(`no master serves slot ${slot}`);
    };
    return {
      nodes,
      keySlot,
      ownerOf,
      admin: async (node) => adminOf(node),
      connect: async () => {
        const client = createCluster({
          rootNodes: nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })),
          defaults: { socket: { reconnectStrategy: false } },
        });
        client.on("error", () => {});
        await client.connect();
        clusters.push(client);
        return client;
      },
      async migrateSlot(slot, to, migrateOptions = {}) {
        const from = await ownerOf(slot);
        if (from.id === to.id) throw new Error(`slot ${slot} is already on ${to.port}`);
        const source = adminOf(from);
        const target = adminOf(to);
        const s = String(slot);
        await command(target, ["CLUSTER", "SETSLOT", s, "IMPORTING", from.id]);
        await command(source, ["CLUSTER", "SETSLOT", s, "MIGRATING", to.id]);
        let keysMoved = 0;
        for (;;) {
          const keys = (await source.sendCommand(["CLUSTER", "GETKEYSINSLOT", s, "100"])) as string[];
          if (keys.length === 0) break;
          await command(source, ["MIGRATE", to.host, String(to.port), "", "0", "5000", "KEYS", ...keys]);
          keysMoved += keys.length;
        }
        await migrateOptions.whileMigrating?.();
        // Keys written to the target during the window (ASKING) are already there; move any the
        // source still took (a write that reached it before it saw MIGRATING) before closing.
        for (;;) {
          const keys = (await source.sendCommand(["CLUSTER", "GETKEYSINSLOT", s, "100"])) as string[];
          if (keys.length === 0) break;
          await command(source, ["MIGRATE", to.host, String(to.port), "", "0", "5000", "KEYS", ...keys]);
          keysMoved += keys.length;
        }
        // Target first, as redis-cli does: once it owns the slot, the source's MOVED points there.
        await command(target, ["CLUSTER", "SETSLOT", s, "NODE", to.id]);
        await command(source, ["CLUSTER", "SETSLOT", s, "NODE", to.id]);
        for (const node of nodes)
          if (node.id !== from.id && node.id !== to.id)
            await command(adminOf(node), ["CLUSTER", "SETSLOT", s, "NODE", to.id]);
        return { from, keysMoved };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
