/**
 * What the runtime tests share: the other runtimes' binaries (npm dev dependencies), the package as
 * npm installs it (packed from dist/ and unpacked into a fresh project's node_modules, so each
 * runtime resolves `msal-ts` through package.json "exports" with its own condition), and a
 * "browser" the scripts call to have a user signed in on the emulator's page from the Node side.
 */
import { execFile, execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "rolldown";
import type { Emulator } from "../../emulator/index.js";
import { ensureBuilt, ROOT } from "../support/build.js";
import { signInOverHttp } from "../support/sign-in.js";

const exec = promisify(execFile);

/** A runtime binary from npm, or why it cannot run here (the test is then skipped with that reason). */
export interface RuntimeBinary {
  path: string;
  /** The npm package that ships it. */
  packageName: string;
  version: string | undefined;
  /** Set when the binary does not run on this machine. */
  unavailable: string | undefined;
}

function probe(path: string, packageName: string, args: string[]): RuntimeBinary {
  try {
    const printed = execFileSync(path, args, { encoding: "utf8", timeout: 20_000 });
    const version = /\d+\.\d+\.\d+|\d{4}-\d\d-\d\d/.exec(printed)?.[0] ?? printed.trim();
    return { path, packageName, version, unavailable: undefined };
  } catch (error) {
    const why = `${packageName} does not run here (${path}: ${(error as Error).message.split("\n")[0]}); install it with npm to run these tests.`;
    console.warn(`Skipping: ${why}`);
    return { path, packageName, version: undefined, unavailable: why };
  }
}

export const bun = (): RuntimeBinary =>
  probe(join(ROOT, "node_modules/@oven/bun-linux-x64/bin/bun"), "@oven/bun-linux-x64", ["--version"]);
export const deno = (): RuntimeBinary => probe(join(ROOT, "node_modules/.bin/deno"), "deno", ["--version"]);
export const workerd = (): RuntimeBinary =>
  probe(join(ROOT, "node_modules/workerd/bin/workerd"), "workerd (through miniflare)", ["--version"]);

const BUILD_LOCK = join(
  tmpdir(),
  `msal-ts-runtime-build-${Buffer.from(ROOT).toString("base64url").slice(-24)}.lock`,
);
const STALE_LOCK_MS = 180_000;

/**
 * {@link ensureBuilt} for test files that run at the same time: the runtime tests start together,
 * and two builds at once would each empty dist/lib under the other. A lock directory (mkdir is
 * atomic) makes them take turns; the second finds dist current and does not build again.
 */
async function buildOnce(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      // A lock left by a killed run: take it over.
      const since = statSync(BUILD_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > STALE_LOCK_MS) rmSync(BUILD_LOCK, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    ensureBuilt();
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

/** A project directory with msal-ts installed from its tarball, and the test's scripts copied in. */
export interface InstalledProject {
  dir: string;
  remove(): void;
}

/**
 * `npm pack` of the built package (dist/ must be current: `npm test` builds first, a lone run
 * rebuilds when stale), unpacked into `<dir>/node_modules/msal-ts` with its runtime dependencies
 * linked beside it, as `npm install <tarball>` lays it out; then the named fixtures copied to `dir`.
 */
export async function installPackage(fixtures: string[]): Promise<InstalledProject> {
  await buildOnce();
  const dir = mkdtempSync(join(tmpdir(), "msal-ts-runtime-"));
  const { stdout } = await exec("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    encoding: "utf8",
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  if (!packed) throw new Error(`npm pack printed no tarball: ${stdout}`);
  const installed = join(dir, "node_modules/msal-ts");
  mkdirSync(installed, { recursive: true });
  await exec("tar", ["-xzf", join(dir, packed.filename), "-C", installed, "--strip-components=1"]);
  for (const dependency of ["undici", "@xmldom"])
    symlinkSync(join(ROOT, "node_modules", dependency), join(dir, "node_modules", dependency), "dir");
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "runtime-consumer",
      private: true,
      type: "module",
      dependencies: { "msal-ts": "*" },
    }),
  );
  const fixtureDir = join(ROOT, "test/runtimes/fixtures");
  for (const file of fixtures) {
    if (!readdirSync(fixtureDir).includes(file)) throw new Error(`No fixture ${file} in ${fixtureDir}.`);
    copyFileSync(join(fixtureDir, file), join(dir, file));
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A plain-HTTP endpoint on the Node side that plays the user: the script POSTs the authorize URL
 * to `url`, this signs the user in on the emulator's page and answers with the authorization
 * response's parameters as JSON; it POSTs a device flow's user code to `approveDeviceUrl`, and this
 * approves it as the user through the emulator's control API (what the user does on the device
 * login page).
 */
export interface SignInService {
  url: string;
  approveDeviceUrl: string;
  /** How many sign-ins it performed. */
  signIns: number;
  /** How many device codes it approved. */
  approvals: number;
  close(): Promise<void>;
}

export async function startSignInService(
  emulator: Emulator,
  user: { username: string; password: string },
): Promise<SignInService> {
  const service: SignInService = {
    url: "",
    approveDeviceUrl: "",
    signIns: 0,
    approvals: 0,
    close: async () => {},
  };
  async function answer(path: string | undefined, body: string): Promise<unknown> {
    if (path === "/approve-device") {
      const approval = await fetch(`${emulator.url}/_emulator/device/approve`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user_code: body, username: user.username }),
      });
      if (approval.status !== 200) throw new Error(`Approving ${body} failed: ${await approval.text()}`);
      service.approvals++;
      return approval.json();
    }
    const { params } = await signInOverHttp(body, user.username, user.password);
    service.signIns++;
    return Object.fromEntries(params);
  }
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      answer(req.url, body).then(
        (json) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(json)),
        (error: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(error.message),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  service.url = `${base}/sign-in`;
  service.approveDeviceUrl = `${base}/approve-device`;
  service.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return service;
}

/** Runs a program to completion and returns its stdout, failing with its output when it fails. */
export async function runProgram(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  try {
    const { stdout } = await exec(file, args, { ...options, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`);
  }
}

/** The environment without the test run's NODE_EXTRA_CA_CERTS, so each runtime trusts the CA its own way. */
export function environmentWithoutCa(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _ignored, ...env } = process.env;
  return env;
}

/**
 * What Wrangler does before upload: bundle a Worker script from `project` into one ES module,
 * resolving packages with the conditions Workers' bundlers use (`workerd`, `worker`, `browser`), so
 * `msal-ts` comes from the portable entry. Dynamic imports (WS-Trust's XML reader) are inlined.
 */
export async function bundleWorker(
  project: InstalledProject,
  entry: string,
  minify = false,
): Promise<string> {
  const result = await build({
    input: join(project.dir, entry),
    cwd: project.dir,
    platform: "browser",
    logLevel: "silent",
    resolve: { conditionNames: ["workerd", "worker", "browser", "import", "default"] },
    write: false,
    output: { format: "esm", codeSplitting: false, minify },
  });
  const [chunk, ...more] = result.output;
  if (chunk?.type !== "chunk" || more.length > 0)
    throw new Error(`Expected one module from ${entry}, got ${result.output.length} files.`);
  return chunk.code;
}
