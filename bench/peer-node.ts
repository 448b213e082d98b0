/**
 * A Node peer: `node dist/bench/peer-node.js <msal-ts|msal-node>` reads a {@link PeerSpec} on
 * stdin, runs its tasks one after another against that library, and prints one JSON event per line.
 * Each library runs in a process of its own, so neither's imports, caches or garbage weigh on the other.
 */
import { readFileSync } from "node:fs";
import { FakeIdp } from "./fake-idp.js";
import { collectGarbage } from "./measure.js";
import type { LibraryName, PeerEvent, PeerSpec, Task, TaskResult } from "./spec.js";

/** What each library answers for each task; the harness (timing, checks, output) is shared. */
export interface Library {
  name: LibraryName;
  version: string;
  run(task: Task, context: TaskContext): Promise<TaskResult>;
}

export interface TaskContext {
  spec: PeerSpec;
  fake: FakeIdp;
  cacheText(file: string): string;
  /** Tells the runner that setup is over and the measurement starts (its time budget starts then). */
  ready(): void;
}

function emit(event: PeerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function loadLibrary(name: string): Promise<Library> {
  if (name === "msal-ts") return (await import("./lib-msal-ts.js")).msalTs;
  if (name === "msal-node") return (await import("./lib-msal-node.js")).msalNode;
  throw new Error(`Unknown library ${name}: use msal-ts or msal-node.`);
}

async function main(): Promise<void> {
  const spec = JSON.parse(await readStdin()) as PeerSpec;
  const library = await loadLibrary(process.argv[2] ?? "");
  emit({
    event: "hello",
    library: library.name,
    version: library.version,
    runtime: `Node ${process.version}`,
  });
  for (const task of spec.tasks) {
    const fake = new FakeIdp(spec.fake);
    const context: TaskContext = {
      spec,
      fake,
      cacheText: (file) => readFileSync(file, "utf8"),
      ready: () => {
        collectGarbage();
        emit({ event: "ready", task: task.id });
      },
    };
    try {
      emit({ event: "result", task: task.id, value: await library.run(task, context) });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      emit({ event: "error", task: task.id, message });
    }
  }
}

await main();
