/**
 * Node built-ins, loaded when first used rather than when msal-ts is imported: crypto, TLS, HTTP,
 * the file system's promises and child_process together take longer to load than the whole
 * library, and most apps use only some of them (docs/benchmarks.md, import time).
 * `process.getBuiltinModule` (Node 20.16) loads synchronously and caches like `import`.
 */
export const nodeCrypto = () => process.getBuiltinModule("node:crypto");
export const nodeFs = () => process.getBuiltinModule("node:fs");
export const nodeFsPromises = () => process.getBuiltinModule("node:fs/promises");
export const nodePath = () => process.getBuiltinModule("node:path");
export const nodeHttp = () => process.getBuiltinModule("node:http");
export const nodeChildProcess = () => process.getBuiltinModule("node:child_process");
