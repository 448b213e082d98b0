/**
 * A private, real Secret Service for the keyring tests: a session D-Bus (`dbus-daemon --session`)
 * and gnome-keyring-daemon's secrets component on it, its login keyring unlocked with a test
 * password and kept under a temporary HOME (the user's own keyrings are never touched). Keyring
 * work runs in child processes (`keyring-worker.mjs`, on the build in dist/) given this env, so
 * that the binding connects to this bus and no other.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
export const ENTRY = join(ROOT, "dist/src/node/index.js");
export const WORKER = fileURLToPath(new URL("./keyring-worker.mjs", import.meta.url));
const BUILT = [
  ENTRY,
  join(ROOT, "dist/src/node/keyring.js"),
  join(ROOT, "dist/src/node/keyring-sync.js"),
  join(ROOT, "dist/src/node/keyring-persistence.js"),
  join(ROOT, "dist/src/node/encrypted-file-persistence.js"),
];

const onPath = (command: string): boolean => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;

/**
 * What is missing for these tests, naming the package to install; `undefined` when nothing is.
 * (Debian packages: dbus, gnome-keyring, libsecret-tools; npm: the optional @napi-rs/keyring.)
 */
export function missingForSecretService(): string | undefined {
  const missing: string[] = [];
  if (!onPath("dbus-daemon") || !onPath("dbus-send"))
    missing.push("dbus-daemon and dbus-send (Debian package dbus)");
  if (!onPath("gnome-keyring-daemon")) missing.push("gnome-keyring-daemon (Debian package gnome-keyring)");
  if (!onPath("secret-tool")) missing.push("secret-tool (Debian package libsecret-tools)");
  try {
    createRequire(join(ROOT, "package.json")).resolve("@napi-rs/keyring");
  } catch {
    missing.push(
      "the npm package @napi-rs/keyring (an optional dependency: npm install without --omit=optional)",
    );
  }
  return missing.length > 0 ? `not installed: ${missing.join(", ")}` : undefined;
}

/** What MSAL Python's LibsecretPersistence needs, or `undefined` when it is there. */
export function missingForPython(): string | undefined {
  const probe = spawnSync("/usr/bin/python3", [
    "-c",
    "import msal, msal_extensions, gi; gi.require_version('Secret', '1'); from gi.repository import Secret",
  ]);
  return probe.status === 0
    ? undefined
    : "not installed: /usr/bin/python3 with Debian packages python3-msal-extensions, python3-gi, gir1.2-secret-1";
}

function builtIsFresh(): boolean {
  const newestSource = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .reduce((newest, f) => Math.max(newest, statSync(join(ROOT, "src", f)).mtimeMs), 0);
  return BUILT.every((f) => existsSync(f) && statSync(f).mtimeMs >= newestSource);
}

/** `npm test` builds first (pretest); when run alone, build if dist is missing or older than the sources. */
export function ensureBuilt(): void {
  if (builtIsFresh()) return;
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (!builtIsFresh()) throw new Error(`Building dist failed:\n${tsc.stdout}${tsc.stderr}`);
}

export interface SecretService {
  /** The env for child processes: this bus, the temporary HOME. */
  env: NodeJS.ProcessEnv;
  /** Stops gnome-keyring-daemon and starts it again: it then loads its keyring file afresh. */
  restartKeyring(): Promise<void>;
  stop(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process owns org.freedesktop.secrets; NameHasOwner never starts one. */
function secretsOwned(env: NodeJS.ProcessEnv): { owned: boolean; stderr: string } {
  const owner = spawnSync(
    "dbus-send",
    [
      "--session",
      "--print-reply",
      "--dest=org.freedesktop.DBus",
      "/org/freedesktop/DBus",
      "org.freedesktop.DBus.NameHasOwner",
      "string:org.freedesktop.secrets",
    ],
    { env, encoding: "utf8" },
  );
  return { owned: owner.stdout.includes("boolean true"), stderr: owner.stderr };
}

/**
 * Starts gnome-keyring-daemon's secrets component on the bus in `env`, its login keyring unlocked
 * with the test password (created with it the first time), and waits until it owns
 * org.freedesktop.secrets. Only then may clients call: a call before would make the bus start
 * another daemon through the D-Bus service file gnome-keyring installs, one without the unlocked
 * login keyring.
 */
async function startKeyring(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const keyring = spawn("gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"], {
    env,
    stdio: ["pipe", "ignore", "ignore"],
  });
  // --unlock reads the login keyring's password from stdin.
  keyring.stdin?.end("test-keyring-password");
  for (let attempt = 0; ; attempt++) {
    const { owned, stderr } = secretsOwned(env);
    if (owned) return keyring;
    if (attempt > 100 || keyring.exitCode !== null) {
      keyring.kill();
      throw new Error(
        `gnome-keyring-daemon did not take org.freedesktop.secrets on ${env.DBUS_SESSION_BUS_ADDRESS}: ${stderr}`,
      );
    }
    await sleep(100);
  }
}

/** Starts the bus and the keyring daemon under `home`; resolves once the keyring answers. */
export async function startSecretService(home: string): Promise<SecretService> {
  const runtime = join(home, "run");
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_DATA_HOME: join(home, "data"),
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_RUNTIME_DIR: runtime,
    LANG: "C.UTF-8",
  };
  const bus = spawn("dbus-daemon", ["--session", "--nofork", "--print-address=1"], {
    env: base,
    stdio: ["ignore", "pipe", "ignore"],
  });
  let keyring: ChildProcess | undefined;
  const stop = (): void => {
    if (keyring?.exitCode === null) keyring.kill();
    if (bus.exitCode === null) bus.kill();
  };
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let out = "";
      bus.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
        if (out.includes("\n")) resolve(out.trim());
      });
      bus.on("exit", (code) =>
        reject(new Error(`dbus-daemon exited (${code}) before printing its address.`)),
      );
    });
    const env = { ...base, DBUS_SESSION_BUS_ADDRESS: address };
    keyring = await startKeyring(env);
    const restartKeyring = async (): Promise<void> => {
      const old = keyring as ChildProcess;
      const exited = new Promise((r) => old.once("exit", r));
      old.kill();
      await exited;
      while (secretsOwned(env).owned) await sleep(20);
      keyring = await startKeyring(env);
    };
    return { env, restartKeyring, stop };
  } catch (e) {
    stop();
    throw e;
  }
}

/** `secret-tool search --all <attribute> <value>` as a list of items' attribute maps (and secrets). */
export function secretItems(
  env: NodeJS.ProcessEnv,
  attribute: string,
  value: string,
): Record<string, string>[] {
  // secret-tool prints the attributes to stderr and the rest to stdout: one pipe keeps their order.
  const out = execFileSync(
    "sh",
    ["-c", 'exec secret-tool search --all --unlock "$0" "$1" 2>&1', attribute, value],
    {
      env,
      encoding: "utf8",
    },
  );
  const items: Record<string, string>[] = [];
  for (const line of out.split("\n")) {
    if (line.startsWith("[")) items.push({});
    const match = /^(\S+) = (.*)$/.exec(line);
    const item = items.at(-1);
    if (match && item) item[match[1] as string] = match[2] as string;
  }
  return items;
}

export interface WorkerResult {
  ok?: boolean;
  tokens?: Record<string, string>;
  kind?: string;
  location?: string;
  removed?: boolean;
  warnings?: string[];
  error?: { name: string; code: string; message: string; reason?: string };
}

/** Runs one keyring-worker.mjs command to completion; resolves with its JSON result. */
export function runWorker(
  env: NodeJS.ProcessEnv,
  args: string[],
  nodeArgs: string[] = [],
): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, WORKER, ENTRY, ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    child.on("exit", (code) => {
      try {
        resolve(JSON.parse(stdout) as WorkerResult);
      } catch {
        reject(new Error(`keyring-worker ${args.join(" ")} exited (${code}): ${stdout}${stderr}`));
      }
    });
  });
}
