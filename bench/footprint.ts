/**
 * What a library costs before it does anything: the time to import it (a fresh process each time,
 * less a bare process), the memory that import takes, and the packages it installs with their size.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { summarise, type Timing } from "./measure.js";

const run = promisify(execFile);

export interface ImportCost {
  /** Wall milliseconds of the whole process, one figure per spawn. */
  process: Timing;
  /** Median, over rounds, of the process time less the bare process's in the same round. */
  importMs: number;
  /** The import alone, timed inside the process (milliseconds). */
  inProcess: Timing;
  /** Resident memory after the import, MB (median). */
  rssMb: number;
  rssOverBareMb: number;
}

export interface PackageTree {
  packages: Array<{ name: string; version: string; bytes: number }>;
  count: number;
  bytes: number;
}

export interface Footprint {
  imports: Record<string, ImportCost | { error: string }>;
  packages: Record<string, PackageTree | { error: string }>;
}

function spawnMs(command: string, args: string[], cwd: string): Promise<{ ms: number; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve({ ms, out });
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${err.slice(0, 500)}`));
    });
  });
}

interface Variant {
  name: string;
  command: string;
  /** A program that imports the library (or nothing, for the bare baseline) and prints "<import ms> <rss bytes>". */
  args: string[];
  baseline: string;
}

/** An ES module file that exports nothing: the floor of importing any package's file. */
function emptyModule(): string {
  const file = join(tmpdir(), "msal-ts-bench-empty-module.mjs");
  writeFileSync(file, "export {};\n");
  return file;
}

export function importVariants(root: string, python: string | undefined): Variant[] {
  const nodeVariant = (name: string, entry: string | undefined): Variant => ({
    name,
    command: process.execPath,
    args: [
      "-e",
      `const t = performance.now(); ${entry ? `await import(${JSON.stringify(entry)});` : "await 0;"} ` +
        "process.stdout.write(String(performance.now() - t) + ' ' + process.memoryUsage().rss)",
    ],
    baseline: "node",
  });
  const variants = [
    nodeVariant("node", undefined),
    // The entries as published (package.json exports): the bundles in dist/lib.
    nodeVariant("msal-ts", pathToFileURL(join(root, "dist/lib/node.js")).href),
    nodeVariant("msal-node", "@azure/msal-node"),
    // Where msal-ts's import time goes: its portable entry (no Node built-ins), and what any ES
    // module costs by itself (the first dynamic import starts Node's ESM loader).
    nodeVariant("msal-ts-portable", pathToFileURL(join(root, "dist/lib/index.js")).href),
    nodeVariant("empty-module", pathToFileURL(emptyModule()).href),
  ];
  if (python) {
    const pythonVariant = (name: string, module: string | undefined): Variant => ({
      name,
      command: python,
      args: [
        "-c",
        `import resource, time; t = time.perf_counter()${module ? `; import ${module}` : ""}; ` +
          "print((time.perf_counter() - t) * 1000, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)",
      ],
      baseline: "python",
    });
    variants.push(pythonVariant("python", undefined), pythonVariant("msal-python", "msal"));
  }
  return variants;
}

/** Spawns every variant `rounds` times, interleaved, so drift in the machine's load hits all alike. */
export async function measureImports(
  root: string,
  variants: Variant[],
  rounds: number,
): Promise<Record<string, ImportCost | { error: string }>> {
  const samples = new Map<string, Array<{ wall: number; inside: number; rss: number }>>(
    variants.map((v) => [v.name, []]),
  );
  const failed = new Map<string, string>();
  for (const v of variants) {
    // A first, untimed spawn warms the file system cache.
    await spawnMs(v.command, v.args, root).catch((e: Error) => failed.set(v.name, e.message));
  }
  const live = variants.filter((v) => !failed.has(v.name));
  for (let round = 0; round < rounds; round++) {
    const shift = round % live.length;
    for (const v of [...live.slice(shift), ...live.slice(0, shift)]) {
      const { ms, out } = await spawnMs(v.command, v.args, root);
      const [inside, rss] = out.trim().split(/\s+/).map(Number) as [number, number];
      samples.get(v.name)?.push({ wall: ms, inside, rss: rss / 2 ** 20 });
    }
  }
  const median = (xs: number[]) => summarise(xs, 1).median;
  const out: Record<string, ImportCost | { error: string }> = {};
  for (const v of variants) {
    const error = failed.get(v.name) ?? (failed.has(v.baseline) ? `${v.baseline} failed` : undefined);
    if (error) {
      out[v.name] = { error };
      continue;
    }
    const mine = samples.get(v.name) ?? [];
    const base = samples.get(v.baseline) ?? [];
    const process = summarise(
      mine.map((s) => s.wall),
      1,
    );
    const rssMb = median(mine.map((s) => s.rss));
    out[v.name] = {
      process,
      // Paired by round (each round spawns every variant once, next to each other), so that drift
      // in the machine's load cancels out rather than adding to the difference of two medians.
      importMs: median(mine.map((s, round) => s.wall - (base[round] ?? s).wall)),
      inProcess: summarise(
        mine.map((s) => s.inside),
        1,
      ),
      rssMb,
      rssOverBareMb: rssMb - median(base.map((s) => s.rss)),
    };
  }
  return out;
}

/** Apparent size of a package directory, without the packages nested in its node_modules. */
function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") total += directoryBytes(path);
    } else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** Where Node would find `name` when required from `fromDir`. */
function resolvePackageDir(name: string, fromDir: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  files?: string[];
}

const readPackage = (dir: string) =>
  JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;

/** The runtime dependency tree of `names` (their `dependencies`, recursively) as installed under `fromDir`. */
export function nodeDependencyTree(names: string[], fromDir: string): PackageTree {
  const seen = new Map<string, { name: string; version: string; bytes: number }>();
  const visit = (name: string, from: string) => {
    const dir = resolvePackageDir(name, from);
    if (!dir) throw new Error(`${name} is not installed (from ${from})`);
    if (seen.has(dir)) return;
    const pkg = readPackage(dir);
    seen.set(dir, { name: pkg.name, version: pkg.version, bytes: directoryBytes(dir) });
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir);
  };
  for (const name of names) visit(name, fromDir);
  const packages = [...seen.values()].sort((a, b) => b.bytes - a.bytes);
  return { packages, count: packages.length, bytes: packages.reduce((s, p) => s + p.bytes, 0) };
}

/** msal-ts as npm would install it: the package's `files` plus its runtime dependency tree. */
export function msalTsTree(root: string): PackageTree {
  const pkg = readPackage(root);
  let own = statSync(join(root, "package.json")).size;
  for (const file of pkg.files ?? []) {
    const path = join(root, file);
    if (!existsSync(path)) continue;
    own += statSync(path).isDirectory() ? directoryBytes(path) : statSync(path).size;
  }
  const deps = nodeDependencyTree(Object.keys(pkg.dependencies ?? {}), root);
  const packages = [{ name: pkg.name, version: pkg.version, bytes: own }, ...deps.packages];
  return { packages, count: packages.length, bytes: own + deps.bytes };
}

/** dpkg-query formats (dpkg's own `${Field}` syntax, not template strings). */
const DPKG_FIELDS = ["db:Status-Abbrev", "Package", "Version", "Installed-Size", "Depends"]
  .map((f) => `\${${f}}`)
  .join("\t");
const DPKG_PROVIDES = `\${Package}\t\${Provides}\n`;

/** Debian's python3-msal and the python3-* packages it depends on, with dpkg's Installed-Size. */
export async function debianPythonTree(): Promise<PackageTree> {
  const query = async (name: string) => {
    try {
      const { stdout } = await run("dpkg-query", ["-W", "-f", DPKG_FIELDS, name]);
      const [status, ...fields] = stdout.split("\t");
      // dpkg also knows packages that are not installed ("un"), and virtual ones.
      return status?.startsWith("ii") ? fields : undefined;
    } catch {
      return undefined;
    }
  };
  const { stdout: provided } = await run("dpkg-query", ["-W", "-f", DPKG_PROVIDES]);
  const provider = new Map<string, string>();
  for (const line of provided.split("\n")) {
    const [pkg, provides] = line.split("\t");
    for (const p of (provides ?? "").split(","))
      if (pkg && p.trim()) provider.set(p.trim().split(" ")[0] as string, pkg);
  }
  const seen = new Map<string, { name: string; version: string; bytes: number }>();
  const visit = async (name: string): Promise<boolean> => {
    if (!name.startsWith("python3-")) return false;
    const real = (await query(name)) ? name : provider.get(name);
    if (!real) return false;
    if (seen.has(real)) return true;
    const fields = await query(real);
    if (!fields) return false;
    const [pkg, version, size, depends] = fields as [string, string, string, string];
    seen.set(real, { name: pkg, version, bytes: Number(size) * 1024 });
    for (const alternatives of depends.split(",")) {
      for (const option of alternatives.split("|")) {
        const dep = option.trim().split(/[\s:(]/)[0] ?? "";
        if (dep === "python3" || !dep.startsWith("python3-")) break;
        if (await visit(dep)) break;
      }
    }
    return true;
  };
  if (!(await visit("python3-msal"))) throw new Error("python3-msal is not installed");
  const packages = [...seen.values()].sort((a, b) => b.bytes - a.bytes);
  return { packages, count: packages.length, bytes: packages.reduce((s, p) => s + p.bytes, 0) };
}
