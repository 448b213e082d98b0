/**
 * The published entries, bundled from tsc's output (dist/src, dist/emulator) into dist/lib: one
 * module per entry instead of ~80 makes `import "msal-ts"` several times quicker. Code loaded on
 * demand (WS-Trust's XML reader, the undici transport) stays in chunks of its own. Runtime
 * dependencies (@xmldom/xmldom, undici) stay external: npm installs them, and the chunk that loads
 * undici is imported on the first request only.
 *
 * `npm run build` runs this file with Node (`node rolldown.config.mjs`) rather than through the
 * rolldown command, whose table of chunk sizes would print on every `npm start` and `npm test`;
 * warnings still print. `rolldown -c rolldown.config.mjs` works too.
 */
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { build, defineConfig } from "rolldown";

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * Importing the Node entry installs the Node platform (src/node/index.ts calls setDefaultPlatform).
 * That module is shared by the Node entry and the CLI, so it lands in a chunk; the chunk gets a fixed
 * name because package.json's `sideEffects` must list it, or a bundler that honours `sideEffects`
 * drops the call and the `ca` and `proxy` options stop working (test/package/pack.test.ts bundles a
 * consumer to check).
 */
const NODE_PLATFORM_MODULE = "dist/src/node/index.js";
const NODE_PLATFORM_CHUNK = "chunks/node-platform.js";

/**
 * The `msal-ts` bin runs dist/lib/cli.js as a program, so it needs a shebang. Rolldown keeps one the
 * entry source starts with and fails on a second, so the banner adds it only when the source has none.
 */
const CLI_SOURCE = "dist/src/cli/main.js";
const SHEBANG = "#!/usr/bin/env node";
const cliSourceHasShebang = () => existsSync(CLI_SOURCE) && readFileSync(CLI_SOURCE, "utf8").startsWith("#!");

const config = defineConfig({
  input: {
    node: "dist/src/node/index.js",
    index: "dist/src/index.js",
    emulator: "dist/emulator/index.js",
    cli: "dist/src/cli/main.js",
  },
  platform: "node",
  external: (id) =>
    builtins.has(id) || id.startsWith("@xmldom/") || id === "undici" || id.startsWith("undici/"),
  output: {
    dir: "dist/lib",
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: (chunk) =>
      chunk.moduleIds.some((id) => id.replaceAll("\\", "/").endsWith(NODE_PLATFORM_MODULE))
        ? NODE_PLATFORM_CHUNK
        : "chunks/[name]-[hash].js",
    banner: (chunk) => (chunk.isEntry && chunk.name === "cli" && !cliSourceHasShebang() ? SHEBANG : ""),
    comments: { legal: true, annotation: false, jsdoc: false },
    cleanDir: true,
  },
});

export default config;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await build(config);
  chmodSync("dist/lib/cli.js", 0o755);
}
