/**
 * Every ```ts block in README.md and docs/*.md compiles, strict, against the package's sources: a
 * reader who copies one gets code that type-checks. The blocks are written to a temporary
 * directory, `msal-ts` and `msal-ts/emulator` are mapped to src/node/index.ts and
 * emulator/index.ts with `paths`, and one tsc run checks them all with the project's compiler
 * options (tsconfig.json: strict, noUncheckedIndexedAccess, NodeNext).
 *
 * Fragments: a block may use the names declared in {@link PRELUDE} (an `app`, an `account`, the
 * `callbackUrl` of a sign-in...) without declaring them; anything else it declares or imports
 * itself. Each block is compiled as its own module, so one block's names never leak into another.
 * docs/benchmarks.md is generated and has no code blocks.
 *
 * The TSDoc `@example` blocks of the public exports (classes and their methods, functions,
 * interfaces of src/index.ts and src/node/index.ts) are compiled the same way, each with an import
 * of the public names it uses. Blocks that cannot compile yet for a reason outside this test are
 * listed in KNOWN_FAILURES with the reason, and the test fails once they compile.
 */
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/** The names a documentation fragment may use undeclared, with the types they have there. */
const PRELUDE = `
/** A confidential client (web app, web API, daemon), set up as in the README. */
declare const app: import("msal-ts").ConfidentialClientApplication;
/** A public client (CLI, desktop app). */
declare const publicApp: import("msal-ts").PublicClientApplication;
/** A signed-in account, as getAccounts() returns it. */
declare const account: import("msal-ts").Account;
/** The application (client) id, its secret, and its authority URL. */
declare const clientId: string;
declare const secret: string;
declare const authority: string;
/** The URL the browser came back to after sign-in (auth code flow). */
declare const callbackUrl: URL;
/** The access token a web API was called with (on-behalf-of). */
declare const incomingToken: string;
/** A CA certificate (PEM) to trust, e.g. a TLS-inspecting proxy's. */
declare const corporateCaPem: string;
/** Scopes, e.g. ["User.Read"]. */
declare const scopes: string[];
/** A web session (express-session's req.session, say) holding a flow and the signed-in account. */
declare const session: { flow: import("msal-ts").AuthCodeFlow; account: import("msal-ts").Account };
/** An Express-style response, a client secret and a tenant id, as TSDoc examples use them. */
declare const res: { redirect(url: string): void };
declare const clientSecret: string;
declare const customerTenantId: string;
declare const incomingBearerToken: string;
/** A token cache, and what an app does when it must start over or sign the user in. */
declare const cache: import("msal-ts").SerializableTokenCache;
declare function startFresh(): void;
declare function startInteractiveSignIn(): void;
/** More fragment names of the TSDoc examples: ids, URLs, a token response, file helpers. */
declare const id: string;
declare const tenantId: string;
declare const redisUrl: string;
declare const environment: string;
declare const realm: string;
declare const scope: string;
declare const tokenEndpoint: string;
declare const response: { client_info: string } & Record<string, unknown>;
declare const keyPem: string;
declare const certPem: string;
declare const tokenFile: string;
declare const clientSecretFromYourVault: string;
declare function callApi(accessToken: string): void;
declare const result: import("msal-ts").TokenSuccess;
declare const readFile: typeof import("node:fs/promises").readFile;
declare const writeFile: typeof import("node:fs/promises").writeFile;
declare const homedir: typeof import("node:os").homedir;
/** Your own storage, for cache plugins. */
declare function load(): Promise<string | undefined>;
declare function save(text: string): Promise<void>;
`;

interface Snippet {
  /** Where the block starts: `docs/caching.md:17`. */
  source: string;
  code: string;
}

/** The ```ts blocks of a Markdown file, with the line each starts on. */
function tsBlocks(file: string): Snippet[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const blocks: Snippet[] = [];
  for (const match of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const line = text.slice(0, match.index).split("\n").length + 1;
    blocks.push({ source: `${file}:${line}`, code: match[1] ?? "" });
  }
  return blocks;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md") && name !== "benchmarks.md")
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", "samples/README.md", ...docs];
}

/**
 * Blocks that do not compile yet, for a reason outside the docs: each names its Markdown file, a
 * line of its code, and why. The test fails when one of them compiles (remove it here then), so
 * the list cannot go stale.
 */
const KNOWN_FAILURES: { file: string; line: string; why: string }[] = [];

/** The diagnostics a test reports: of blocks not known to fail, of other files, and of stale entries. */
function unexpectedDiagnostics(
  snippets: Snippet[],
  diagnostics: Map<string, string[]>,
  fromSources: boolean,
): string {
  const known = (snippet: Snippet) =>
    KNOWN_FAILURES.find((k) => snippet.source.startsWith(`${k.file}:`) && snippet.code.includes(k.line));
  const unexpected = snippets
    .filter((snippet) => diagnostics.has(snippet.source) && !known(snippet))
    .flatMap((snippet) => diagnostics.get(snippet.source) ?? []);
  const stale = KNOWN_FAILURES.filter((k) => k.file.startsWith("src/") === fromSources)
    .filter((k) => !snippets.some((snippet) => known(snippet) === k && diagnostics.has(snippet.source)))
    .map((k) => `${k.file} "${k.line}" compiles now (or is gone): remove it from KNOWN_FAILURES`);
  return [...unexpected, ...(diagnostics.get("") ?? []), ...stale].join("\n");
}

const work = mkdtempSync(join(tmpdir(), "msal-ts-snippets-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Compiles the snippets in one tsc run, each as its own module with the prelude in scope.
 * Returns the diagnostics by snippet source, and those in other files (the sources) under "".
 */
function compile(snippets: Snippet[], directory: string): Map<string, string[]> {
  const dir = join(work, directory);
  mkdirSync(join(dir, "snippets"), { recursive: true });
  // An ES module package (top-level await, as in the snippets) that finds the project's
  // dependencies (redis, @types/node, @azure/msal-node) through a link.
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "prelude.d.ts"), PRELUDE);
  const names = new Map<string, string>();
  snippets.forEach((snippet, index) => {
    const name = `snippet-${String(index).padStart(3, "0")}.ts`;
    names.set(name, snippet.source);
    // `export {}` makes each block a module: its names shadow the prelude's and stay its own.
    writeFileSync(join(dir, "snippets", name), `${snippet.code}\nexport {};\n`);
  });
  const projectOptions = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8")).compilerOptions;
  const tsconfig = {
    compilerOptions: {
      ...projectOptions,
      noEmit: true,
      declaration: false,
      sourceMap: false,
      rootDir: undefined,
      outDir: undefined,
      paths: {
        "msal-ts": [join(ROOT, "src/node/index.ts")],
        "msal-ts/emulator": [join(ROOT, "emulator/index.ts")],
      },
    },
    files: ["prelude.d.ts", ...[...names.keys()].map((name) => `snippets/${name}`)],
  };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
  const tsc = spawnSync(
    join(ROOT, "node_modules/.bin/tsc"),
    ["-p", join(dir, "tsconfig.json"), "--pretty", "false"],
    {
      cwd: dir,
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  const diagnostics = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of `${tsc.stdout}${tsc.stderr}`.split("\n")) {
    if (line.trim() === "") continue;
    const match = /^snippets\/(snippet-\d{3}\.ts)(.*)$/.exec(line);
    if (match || !line.startsWith(" ") || current === undefined) {
      // A new diagnostic; say which Markdown block (or TSDoc example) the temporary file is.
      const source = match ? (names.get(match[1] ?? "") ?? "") : "";
      const text = match ? `${source}, line ${match[2]}` : line;
      current = diagnostics.get(source) ?? [];
      diagnostics.set(source, current);
      current.push(text);
    } else current.push(line);
  }
  if (tsc.status !== 0 && diagnostics.size === 0)
    diagnostics.set("", [`tsc exited ${tsc.status}: ${tsc.error}`]);
  return diagnostics;
}

/** Names the public entries export, and which of them are types only. */
function publicExports(): { values: Set<string>; types: Set<string> } {
  const values = new Set<string>();
  const types = new Set<string>();
  for (const file of ["src/index.ts", "src/node/index.ts"]) {
    const text = readFileSync(join(ROOT, file), "utf8");
    for (const match of text.matchAll(/export (type )?\{([^}]*)\}/g)) {
      for (const item of (match[2] ?? "").split(",")) {
        const typeOnly = match[1] !== undefined || item.trim().startsWith("type ");
        const name =
          item
            .trim()
            .replace(/^type /, "")
            .split(" as ")
            .pop()
            ?.trim() ?? "";
        if (name) (typeOnly ? types : values).add(name);
      }
    }
  }
  return { values, types };
}

/**
 * The TSDoc `@example` blocks of what the public entries export (classes, their methods,
 * functions, interfaces), with an import of the public names each uses. Examples of internal
 * functions are left out: they may use names no user can import.
 */
function publicExamples(): Snippet[] {
  const { values, types } = publicExports();
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, name.name);
      if (name.isDirectory()) walk(path);
      else if (path.endsWith(".ts")) files.push(path);
    }
  };
  walk(join(ROOT, "src"));
  const examples: Snippet[] = [];
  for (const path of files.sort()) {
    const text = readFileSync(path, "utf8");
    for (const comment of text.matchAll(/\/\*\*([\s\S]*?)\*\/\s*\n([^\n]*)/g)) {
      const [, body = "", declaration = ""] = comment;
      const top = /^export (?:abstract )?(?:class|function|const|interface|type|async function) (\w+)/.exec(
        declaration,
      );
      const owner =
        top?.[1] ??
        (/^\s+(?:get |static |async )?\w+[(<]/.test(declaration)
          ? [...text.slice(0, comment.index).matchAll(/^export (?:abstract )?class (\w+)/gm)].pop()?.[1]
          : undefined);
      if (!owner || !(values.has(owner) || types.has(owner))) continue;
      const uncommented = body.replace(/^\s*\* ?/gm, "");
      for (const block of uncommented.matchAll(/@example\s*\n```ts\n([\s\S]*?)```/g)) {
        const code = block[1] ?? "";
        const line = text
          .slice(0, (comment.index ?? 0) + body.indexOf(code.split("\n")[0] ?? ""))
          .split("\n").length;
        const imported = new Set(
          [...code.matchAll(/import[^;]*?\{([^}]*)\}/g)].flatMap((m) =>
            (m[1] ?? "").split(",").map((n) => n.trim().replace(/^type /, "")),
          ),
        );
        const used = (set: Set<string>) =>
          [...set].filter((name) => !imported.has(name) && new RegExp(`\\b${name}\\b`).test(code));
        const valueNames = used(values);
        const typeNames = used(types);
        // Imports go last: ES imports are hoisted, and the example keeps its line numbers.
        const imports = [
          valueNames.length > 0 ? `import { ${valueNames.join(", ")} } from "msal-ts";` : "",
          typeNames.length > 0 ? `import type { ${typeNames.join(", ")} } from "msal-ts";` : "",
        ].join("\n");
        // The public client's examples call their app `app` too.
        const app =
          owner === "PublicClientApplication" && !/\b(const|let) app\b/.test(code)
            ? 'declare const app: import("msal-ts").PublicClientApplication; '
            : "";
        examples.push({ source: `${relative(ROOT, path)}:${line}`, code: `${app}${code}\n${imports}` });
      }
    }
  }
  return examples;
}

describe("documentation code blocks", () => {
  const snippets = markdownFiles().flatMap(tsBlocks);

  it("finds the blocks to compile", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(8);
  });

  it("every ```ts block in README.md and docs/*.md compiles under strict TypeScript", () => {
    const report = unexpectedDiagnostics(snippets, compile(snippets, "markdown"), false);
    expect(report, report).toBe("");
  }, 120_000);

  it("every TSDoc @example of a public export compiles under strict TypeScript", () => {
    const examples = publicExamples();
    expect(examples.length).toBeGreaterThanOrEqual(20);
    const report = unexpectedDiagnostics(examples, compile(examples, "tsdoc"), true);
    expect(report, report).toBe("");
  }, 120_000);
});

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** Markdown outside fenced code blocks (where `|` and `[x](y)` mean nothing). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```$/gm, (block) => block.replace(/[^\n]/g, ""));
}

describe("documentation Markdown", () => {
  const files = [...markdownFiles(), "docs/benchmarks.md"];

  it.each(files)("%s: every table row has as many cells as its header", (file) => {
    const lines = prose(readFileSync(join(ROOT, file), "utf8")).split("\n");
    const broken: string[] = [];
    let columns = 0;
    lines.forEach((line, index) => {
      if (!line.startsWith("|")) {
        columns = 0;
        return;
      }
      // GitHub splits cells on every `|` not escaped with a backslash, inside code spans too.
      const cells = line.replace(/\\\|/g, "").split("|").length - 2;
      if (columns === 0) columns = cells;
      else if (cells !== columns)
        broken.push(`${file}:${index + 1} has ${cells} cells, the header ${columns}`);
    });
    expect(broken).toEqual([]);
  });

  it.each(files)("%s: every relative link points to a file (and heading) in the repository", (file) => {
    const text = prose(readFileSync(join(ROOT, file), "utf8"));
    const broken: string[] = [];
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1] ?? "";
      if (/^[a-z]+:/i.test(target)) continue;
      const [path = "", anchor] = target.split("#");
      const resolved = path === "" ? join(ROOT, file) : resolve(ROOT, dirname(file), path);
      let content: string;
      try {
        content = readFileSync(resolved, "utf8");
      } catch {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor === undefined || !resolved.endsWith(".md")) continue;
      const headings = [...prose(content).matchAll(/^#+ (.+)$/gm)].map((h) => anchorOf(h[1] ?? ""));
      if (!headings.includes(anchor)) broken.push(`${target}: no heading #${anchor}`);
    }
    expect(broken).toEqual([]);
  });
});
