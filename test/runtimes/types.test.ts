/**
 * The types each export condition resolves to, in the installed package: the portable entry's for
 * `workerd` (TypeScript's `customConditions`) and for Deno's own type checker, the Node entry's
 * under `nodenext`. The portable consumer expects the Node-only `createNodeFetch` to be missing
 * (`@ts-expect-error`), so it compiles only where the portable types were picked.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/build.js";
import { deno, environmentWithoutCa, type InstalledProject, installPackage, runProgram } from "./support.js";

const TSC = join(ROOT, "node_modules/.bin/tsc");
const denoBinary = deno();

/** Uses the portable API and expects the Node transport to be absent. */
const PORTABLE_CONSUMER = `import { ConfidentialClientApplication, FilePersistence, type TokenResult } from "msal-ts";
// @ts-expect-error The portable entry has no Node transport.
import { createNodeFetch } from "msal-ts";

const app = new ConfidentialClientApplication("client-id", {
  authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
  clientCredential: "secret",
});
export const result: Promise<TokenResult> = app.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
export { createNodeFetch, FilePersistence };
`;

/** Uses what only the Node entry offers. */
const NODE_CONSUMER = `import { createNodeFetch, FilePersistence } from "msal-ts";

export const fetchThroughProxy = createNodeFetch({ proxy: "http://proxy.contoso.test:8080" });
export const persistence = new FilePersistence("msal_token_cache.json", { lockTimeoutMs: 5_000 });
`;

function tsconfig(file: string, options: Record<string, unknown>): string {
  return JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      strict: true,
      noEmit: true,
      lib: ["ES2022", "DOM"],
      types: [],
      ...options,
    },
    files: [file],
  });
}

describe("the types each export condition resolves to", { timeout: 60_000 }, () => {
  let project: InstalledProject | undefined;

  beforeAll(async () => {
    project = await installPackage([]);
    const write = (name: string, text: string) =>
      writeFileSync(join((project as InstalledProject).dir, name), text);
    write("portable.ts", PORTABLE_CONSUMER);
    write("portable.mts", PORTABLE_CONSUMER);
    write("node.mts", NODE_CONSUMER);
    write(
      "tsconfig.workerd.json",
      tsconfig("portable.ts", {
        module: "preserve",
        moduleResolution: "bundler",
        customConditions: ["workerd"],
        skipLibCheck: false,
      }),
    );
    write(
      "tsconfig.node.json",
      tsconfig("node.mts", { module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true }),
    );
    write(
      "tsconfig.node-portable.json",
      tsconfig("portable.mts", { module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true }),
    );
  }, 60_000);
  afterAll(() => project?.remove());

  const tsc = (config: string) =>
    runProgram(TSC, ["-p", config], { cwd: (project as InstalledProject).dir, env: process.env });

  it('TypeScript with customConditions ["workerd"]: the portable types (their .d.ts checked too), without createNodeFetch', async () => {
    expect(await tsc("tsconfig.workerd.json")).toBe("");
  });

  it("TypeScript under nodenext: the Node entry's types, with createNodeFetch and FilePersistence's options", async () => {
    expect(await tsc("tsconfig.node.json")).toBe("");
    // The portable consumer does not compile there: createNodeFetch exists, so its @ts-expect-error is unused.
    await expect(tsc("tsconfig.node-portable.json")).rejects.toThrow(
      /portable\.mts\(2,1\): error TS2578: Unused '@ts-expect-error' directive/,
    );
  });

  it.skipIf(denoBinary.unavailable)(
    `deno check: the deno condition gives Deno the portable types${denoBinary.unavailable ? ` (${denoBinary.unavailable})` : ""}`,
    async () => {
      const out = await runProgram(denoBinary.path, ["check", "portable.ts"], {
        cwd: (project as InstalledProject).dir,
        env: { ...environmentWithoutCa(), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
      });
      expect(out).toBe("");
    },
  );
});
