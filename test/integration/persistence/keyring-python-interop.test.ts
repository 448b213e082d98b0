/**
 * msal-ts's KeyringPersistence and MSAL Python's msal-extensions LibsecretPersistence (Debian's
 * python3-msal-extensions, run by /usr/bin/python3) sharing one Secret Service item, both ways:
 * what one writes the other reads, and adds to, and there stays one item (an item msal-ts creates
 * is visible to MSAL Python once gnome-keyring has loaded its keyring file again). The Python side is
 * configured with schema_name "org.freedesktop.Secret.Generic" and attributes {service, username}
 * (keyring_interop.py); with msal-extensions' defaults the two cannot share, shown last.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ensureBuilt,
  missingForPython,
  missingForSecretService,
  runWorker,
  type SecretService,
  secretItems,
  startSecretService,
} from "./keyring-harness.js";

const PYTHON_SIDE = fileURLToPath(new URL("./keyring_interop.py", import.meta.url));
const missing = missingForSecretService() ?? missingForPython();
if (missing) console.warn(`Skipping the MSAL Python keyring interop tests: ${missing}.`);

let dir: string;
let service: SecretService;

beforeAll(async () => {
  if (missing) return;
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "msal-ts-keyring-python-"));
  service = await startSecretService(join(dir, "home"));
}, 120_000);
afterAll(() => {
  service?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs keyring_interop.py; resolves with the tokens it sees after its command. */
async function python(signal: string, keyService: string, account: string, ...command: string[]) {
  const { stdout } = await promisify(execFile)(
    "/usr/bin/python3",
    [PYTHON_SIDE, signal, keyService, account, ...command],
    { env: service.env },
  );
  return (JSON.parse(stdout) as { tokens: Record<string, string> }).tokens;
}

function signalIn(name: string): string {
  const app = join(dir, "apps", name);
  mkdirSync(app, { recursive: true });
  return join(app, "msal_token_cache");
}

const tokensOf = (...names: string[]): Record<string, string> =>
  Object.fromEntries(names.map((n) => [`api://${n}/.default`, `secret-${n}`]));

describe.skipIf(missing)(
  `MSAL Python's LibsecretPersistence${missing ? ` — skipped, ${missing}` : ""}`,
  () => {
    it("msal-ts creates the item: once gnome-keyring has reloaded it, MSAL Python reads it and adds to it; msal-ts reads both; one item", async () => {
      const signal = signalIn("ts-first");
      const env = { ...service.env, KEYRING_SERVICE: "interop-ts-first", KEYRING_ACCOUNT: "cache" };
      expect(await runWorker(env, ["add", "keyring", signal, "from-ts"])).toMatchObject({ ok: true });
      // MSAL Python looks items up by xdg:schema too. The binding creates items without one;
      // gnome-keyring gives them org.freedesktop.Secret.Generic when it next loads its keyring file
      // (docs/caching.md): at its next start, as at the next login.
      await service.restartKeyring();
      expect(secretItems(service.env, "service", "interop-ts-first")[0]).toMatchObject({
        schema: "org.freedesktop.Secret.Generic",
      });
      expect(await python(signal, "interop-ts-first", "cache", "list")).toEqual(tokensOf("from-ts"));
      expect(await python(signal, "interop-ts-first", "cache", "add", "from-py")).toEqual(
        tokensOf("from-ts", "from-py"),
      );
      expect((await runWorker(env, ["list", "keyring", signal])).tokens).toEqual(
        tokensOf("from-ts", "from-py"),
      );
      const items = secretItems(service.env, "service", "interop-ts-first");
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({
        schema: "org.freedesktop.Secret.Generic",
        "attribute.service": "interop-ts-first",
        "attribute.username": "cache",
      });
      // Both took and released the same lock file next to the signal file.
      expect(readdirSync(join(dir, "apps", "ts-first"))).toEqual(["msal_token_cache"]);
    }, 60_000);

    it("MSAL Python writes first: msal-ts reads the item and adds to it; MSAL Python reads both; one item", async () => {
      const signal = signalIn("py-first");
      const env = { ...service.env, KEYRING_SERVICE: "interop-py-first", KEYRING_ACCOUNT: "cache" };
      expect(await python(signal, "interop-py-first", "cache", "add", "from-py")).toEqual(
        tokensOf("from-py"),
      );
      expect(await runWorker(env, ["add", "keyring", signal, "from-ts"])).toMatchObject({
        ok: true,
        tokens: tokensOf("from-py", "from-ts"),
      });
      expect(await python(signal, "interop-py-first", "cache", "list")).toEqual(
        tokensOf("from-py", "from-ts"),
      );
      expect(secretItems(service.env, "service", "interop-py-first")).toHaveLength(1);
    }, 60_000);

    it("with msal-extensions' defaults (schema = SHA-256 of the path, no attributes) the two do not share: msal-ts sees nothing", async () => {
      const signal = signalIn("defaults");
      expect(await python(signal, "-", "-", "add", "from-py")).toEqual(tokensOf("from-py"));
      expect(await runWorker(service.env, ["list", "keyring", signal])).toEqual({ tokens: {}, warnings: [] });
    }, 60_000);
  },
);
