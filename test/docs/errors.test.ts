/**
 * docs/errors.md lists every `code` msal-ts can throw, under the heading of the error class that
 * carries it, and every `kind` of NetworkError.
 *
 * The codes are read from src/ with regular expressions, which see:
 * - classes that extend MsalError (directly or not) and either fix their code with a literal
 *   (`super("invalid_configuration", ...)`) or take it as their first constructor parameter,
 *   named `code` (or inherit a constructor that does);
 * - a string literal given as that first argument: `new IdTokenError("id_token_expired", ...)`,
 *   also across line breaks;
 * - string-literal union types named `...ErrorCode`, `...ErrorKind` or `...FailureKind`
 *   (`CredentialErrorCode`, `NetworkFailureKind`) whose members are all string literals, which
 *   cover codes passed through variables.
 * What they cannot see: a code built at run time, or passed in a variable whose type is plain
 * `string`. The last test fails on such a call, so it cannot slip past unseen.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

const sources = sourceFiles(join(ROOT, "src")).map((path) => ({
  file: relative(ROOT, path),
  text: readFileSync(path, "utf8"),
}));

interface ErrorClass {
  parent: string;
  /** The code the class always has, from `super("...")`. */
  fixedCode?: string;
  /** Its own constructor takes the code first; `undefined` when it declares no constructor. */
  codeFirst?: boolean;
}

/** Each `class X extends Y { ... }` in src/, with what its constructor does with the code. */
function errorClasses(): Map<string, ErrorClass> {
  const classes = new Map<string, ErrorClass>([["MsalError", { parent: "", codeFirst: true }]]);
  for (const { text } of sources) {
    for (const match of text.matchAll(/class (\w+) extends (\w+) \{(?:\}|([\s\S]*?)\n\})/g)) {
      const [, name = "", parent = "", body = ""] = match;
      if (name === "MsalError") continue;
      const parameter = /constructor\(\s*(\w+)/.exec(body)?.[1];
      const fixedCode = /super\(\s*"([a-z0-9_]+)"/.exec(body)?.[1];
      const info: ErrorClass = { parent };
      if (fixedCode) info.fixedCode = fixedCode;
      if (parameter !== undefined) info.codeFirst = parameter === "code";
      classes.set(name, info);
    }
  }
  return classes;
}

const classes = errorClasses();

/** The chain up to MsalError, or `undefined` for classes that are not MsalErrors. */
function ancestry(name: string): string[] | undefined {
  const chain: string[] = [];
  for (let current: string | undefined = name; current; current = classes.get(current)?.parent) {
    chain.push(current);
    if (current === "MsalError") return chain;
    if (!classes.has(current)) return undefined;
  }
  return undefined;
}

/** Whether `new X(a, ...)` passes the code as `a`: its own constructor, or the nearest one up. */
function takesCodeFirst(name: string): boolean {
  for (const current of ancestry(name) ?? []) {
    const info = classes.get(current);
    if (info?.fixedCode) return false;
    if (info?.codeFirst !== undefined) return info.codeFirst;
  }
  return false;
}

const msalErrors = [...classes.keys()].filter((name) => ancestry(name) !== undefined);

/** class name -> the codes src/ can throw it with. */
function thrownCodes(): Map<string, Set<string>> {
  const codes = new Map<string, Set<string>>(msalErrors.map((name) => [name, new Set<string>()]));
  for (const name of msalErrors) {
    const fixed = classes.get(name)?.fixedCode;
    if (fixed) codes.get(name)?.add(fixed);
  }
  for (const { text } of sources) {
    for (const match of text.matchAll(/new (\w+)\(\s*"([a-z0-9_]+)"/g)) {
      const [, name = "", code = ""] = match;
      if (takesCodeFirst(name)) codes.get(name)?.add(code);
    }
  }
  return codes;
}

/** Members of the code and kind unions: type name -> members. */
function codeUnions(): Map<string, string[]> {
  const unions = new Map<string, string[]>();
  for (const { text } of sources) {
    for (const match of text.matchAll(
      /type (\w+(?:ErrorCode|ErrorKind|FailureKind)) =((?:\s*\|?\s*"[a-z0-9_]+")+);/g,
    )) {
      const [, name = "", body = ""] = match;
      unions.set(
        name,
        [...body.matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1] ?? ""),
      );
    }
  }
  return unions;
}

const errorsDoc = readFileSync(join(ROOT, "docs/errors.md"), "utf8");

/** The text under the `##` heading that names `className` (up to the next `##`). */
function sectionOf(className: string): string {
  for (const section of errorsDoc.split(/^(?=## )/m)) {
    const heading = section.split("\n", 1)[0] ?? "";
    if (new RegExp(`^## \`?${className}\\b`).test(heading)) return section;
  }
  return "";
}

describe("docs/errors.md", () => {
  const codes = thrownCodes();

  it("the scan finds the error classes and codes it should", () => {
    expect(msalErrors).toEqual(
      expect.arrayContaining([
        "MsalError",
        "ConfigurationError",
        "IdTokenError",
        "CredentialError",
        "NetworkError",
      ]),
    );
    expect(codes.get("IdTokenError")).toContain("id_token_nonce_mismatch");
    expect(codes.get("ConfigurationError")).toEqual(new Set(["invalid_configuration"]));
    // Managed identity's errors live in src/managed-identity/errors.ts, its codes in a union.
    expect(msalErrors).toEqual(
      expect.arrayContaining(["ManagedIdentityError", "ArcPlatformNotSupportedError"]),
    );
    expect(codes.get("ArcPlatformNotSupportedError")).toEqual(new Set(["arc_platform_not_supported"]));
    expect(codes.get("ManagedIdentityError")).toContain("arc_key_file_too_large");
    expect(codeUnions().get("ManagedIdentityErrorCode")).toContain("service_fabric_certificate_mismatch");
    expect(codeUnions().get("NetworkFailureKind")).toContain("proxy");
  });

  it.each(msalErrors)("documents %s with every code src/ throws it with", (className) => {
    const section = sectionOf(className);
    expect(section, `docs/errors.md has no "## ${className}" section`).not.toBe("");
    const missing = [...(codes.get(className) ?? [])].filter((code) => !section.includes(`\`${code}\``));
    expect(missing, `codes of ${className} missing from its section in docs/errors.md`).toEqual([]);
  });

  it.each([
    ["ConfigurationError", "option"],
    ["ArgumentError", "argument"],
  ])("names every %s.%s that src/ throws with a literal", (className) => {
    const section = sectionOf(className);
    const names = new Set<string>();
    for (const { text } of sources) {
      for (const match of text.matchAll(new RegExp(`new ${className}\\(\\s*"(\\w+)"`, "g")))
        names.add(match[1] ?? "");
    }
    expect(names.size).toBeGreaterThan(3);
    expect([...names].filter((name) => !section.includes(`\`${name}\``))).toEqual([]);
  });

  it("documents every member of the code and kind unions (codes passed through variables)", () => {
    const missing = [...codeUnions()].flatMap(([union, members]) =>
      members.filter((m) => !errorsDoc.includes(`\`${m}\``)).map((m) => `${union}: ${m}`),
    );
    expect(missing).toEqual([]);
  });

  it("every call that passes a code passes one the scan can read (a literal, or a ...Code-typed value)", () => {
    const unreadable: string[] = [];
    for (const { file, text } of sources) {
      for (const match of text.matchAll(/new (\w+)\(\s*([^,)]*)/g)) {
        const [, name = "", argument = ""] = match;
        if (!takesCodeFirst(name) || /^"[a-z0-9_]+"$/.test(argument.trim())) continue;
        const line = text.slice(0, match.index).split("\n").length;
        // A parameter typed with a code union (`code: CredentialErrorCode`) is covered by that union.
        const typed = new RegExp(`\\b${argument.trim()}: \\w+(ErrorCode|ErrorKind|FailureKind)\\b`).test(
          text,
        );
        if (!typed) unreadable.push(`${file}:${line}: new ${name}(${argument.trim()}, ...)`);
      }
    }
    expect(unreadable).toEqual([]);
  });
});
