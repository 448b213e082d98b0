/**
 * The `msal-ts` command keeps its cache in the OS keyring by default (here a private gnome-keyring,
 * see keyring-harness.ts), says where with `cache` and `--verbose`, moves an old plain cache file
 * into the keyring, keeps a plain file when --cache-file or MSAL_CACHE_FILE chooses one, and where
 * there is no keyring uses the default plain file with a notice saying so.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { ensureBuilt } from "../../support/build.js";
import { app, startTestEmulator } from "../../support/emulator.js";
import { startCli } from "../cli/helpers.js";
import {
  missingForSecretService,
  type SecretService,
  secretItems,
  startSecretService,
} from "./keyring-harness.js";

const missing = missingForSecretService();
if (missing) console.warn(`Skipping the CLI keyring tests: ${missing}.`);

let emulator: Emulator;
let dir: string;
let service: SecretService;
let env: NodeJS.ProcessEnv;
let defaultFile: string;

const ITEM =
  'the item service="msal-ts" account="cli-token-cache" in the Secret Service (D-Bus org.freedesktop.secrets)';

beforeAll(async () => {
  if (missing) return;
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), "msal-ts-keyring-cli-"));
  service = await startSecretService(join(dir, "home"));
  emulator = await startTestEmulator();
  const daemon = app(emulator, "daemon");
  env = {
    ...service.env,
    MSAL_CLIENT_ID: daemon.clientId,
    MSAL_AUTHORITY: `${emulator.url}/${emulator.directory.tenants[0]?.id}`,
    NO_COLOR: "1",
    // The emulator's CA, as the test setup trusts it.
    ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
  };
  // The default plain file: $XDG_CACHE_HOME/msal-ts/token-cache.json (the harness sets XDG_CACHE_HOME).
  defaultFile = join(service.env.XDG_CACHE_HOME as string, "msal-ts", "token-cache.json");
}, 120_000);
afterAll(async () => {
  await emulator?.stop();
  service?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[], runEnv = env, stdin?: string) =>
  startCli(args, { env: runEnv, ...(stdin !== undefined ? { stdin } : {}) }).done;

const secret = () => app(emulator, "daemon").secret as string;

/** Every file under `root` whose bytes contain `needle`. */
const filesContaining = (root: string, needle: string): string[] =>
  readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => {
    const path = join(root, f);
    return statSync(path).isFile() && readFileSync(path).includes(needle);
  });

describe.skipIf(missing)(
  `the msal-ts command and the keyring${missing ? ` — skipped, ${missing}` : ""}`,
  () => {
    it("an old plain cache file at the default path moves into the keyring on the next run, and is deleted", async () => {
      const plainEnv = { ...env, MSAL_CACHE_FILE: defaultFile };
      const login = await run(
        ["login", "--service-principal", "--client-secret-stdin"],
        plainEnv,
        `${secret()}\n`,
      );
      expect(login.code).toBe(0);
      expect(existsSync(defaultFile)).toBe(true);

      const token = await run(["token", "--app"]);
      expect(token.code).toBe(0);
      expect(token.stdout).toMatch(/^ey/);
      expect(token.stderr).toBe(
        `msal-ts: moved the token cache from the plain file ${defaultFile} into ${ITEM}.\n`,
      );
      expect(existsSync(defaultFile)).toBe(false);
      expect(secretItems(service.env, "service", "msal-ts")).toHaveLength(1);
      expect(filesContaining(dir, token.stdout.trim())).toEqual([]);
    }, 60_000);

    it("login --verbose says where the cache lives; token --app serves from the keyring; no file holds the token", async () => {
      const login = await run(
        ["login", "--service-principal", "--client-secret-stdin", "--verbose"],
        env,
        `${secret()}\n`,
      );
      expect(login.code).toBe(0);
      expect(login.stderr).toContain(`Token cache: ${ITEM}\n`);
      const token = await run(["token", "--app", "--json"]);
      expect(token.stderr).toBe("");
      const accessToken = (JSON.parse(token.stdout) as { access_token: string; token_source: string })
        .access_token;
      expect(JSON.parse(token.stdout)).toMatchObject({ token_source: "cache" });
      expect(filesContaining(dir, accessToken)).toEqual([]);
      const [item] = secretItems(service.env, "service", "msal-ts");
      expect(item).toMatchObject({ "attribute.username": "cli-token-cache" });
      expect(item?.secret).toContain(accessToken);
    }, 60_000);

    it("`msal-ts cache` names the keyring item; --json gives storage, location and file null", async () => {
      const human = await run(["cache"]);
      expect(human.code).toBe(0);
      expect(human.stdout.split("\n")[0]).toBe(`Cache: ${ITEM}`);
      const json = JSON.parse((await run(["cache", "--json"])).stdout) as Record<string, unknown>;
      expect(json).toMatchObject({ storage: "keyring", location: ITEM, file: null, exists: true });
      expect(json.access_tokens).toHaveLength(1);
    });

    it("--cache-file keeps the plain file the user chose, and says so", async () => {
      const chosen = join(dir, "chosen.json");
      const human = await run(["cache", "--cache-file", chosen]);
      expect(human).toEqual({
        code: 0,
        stdout: `Cache file: ${chosen} (not created yet)\nEntries: 0 AccessToken, 0 RefreshToken, 0 IdToken, 0 Account, 0 AppMetadata\n`,
        stderr: "",
      });
      const json = JSON.parse((await run(["cache", "--json", "--cache-file", chosen])).stdout) as Record<
        string,
        unknown
      >;
      expect(json).toMatchObject({
        storage: "plaintext-file",
        file: chosen,
        location: `the plain file ${chosen} (mode 0600)`,
      });
    });

    it("without a keyring the default plain file is used, with a notice naming the cause and how to choose", async () => {
      const noBus = { ...env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, "no-such-bus")}` };
      const result = await run(["cache", "--json"], noBus);
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(
        new RegExp(
          `^msal-ts: no OS keyring \\(Could not read the item service="msal-ts" account="cli-token-cache" in the Secret Service \\(D-Bus org\\.freedesktop\\.secrets\\): .+\\), so the token cache is the plain file ${defaultFile.replace(/[.]/g, "\\.")} \\(mode 0600\\)\\. Start a keyring \\(on Linux a Secret Service such as gnome-keyring\\) to keep it encrypted, or pass --cache-file \\(or set MSAL_CACHE_FILE\\) to choose the plain file and silence this\\.\\n$`,
        ),
      );
      expect(JSON.parse(result.stdout)).toMatchObject({
        storage: "plaintext-file",
        file: defaultFile,
        location: `the plain file ${defaultFile} (mode 0600), no keyring available`,
        exists: false,
      });
    });
  },
);
