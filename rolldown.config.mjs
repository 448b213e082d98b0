/**
 * The published entries, bundled from tsc's output (dist/src, dist/emulator) into dist/lib: one
 * module per entry instead of ~80 makes `import "msal-ts"` several times quicker. Code loaded on
 * demand (WS-Trust's XML reader, the undici transport) stays in chunks of its own. Runtime
 * dependencies (@xmldom/xmldom, undici) stay external: npm installs them, and the chunk that loads
 * undici is imported on the first request only.
 */
import { builtinModules } from "node:module";
import { defineConfig } from "rolldown";

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

export default defineConfig({
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
    chunkFileNames: "chunks/[name]-[hash].js",
    comments: { legal: true, annotation: false, jsdoc: false },
    cleanDir: true,
  },
});
