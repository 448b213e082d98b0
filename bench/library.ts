/**
 * What the Node peers share besides the harness: the dispatch of each task kind to a library's
 * runner. Apart from bench/peer-node.ts, which imports the libraries (a value import back into
 * it would wait on its own top-level await).
 */
import type { Library, TaskContext } from "./peer-node.js";
import type {
  ClientCredentialTask,
  ConcurrentTask,
  EndToEndTask,
  FlatTask,
  GrowthTask,
  LibraryName,
  MemoryTask,
  OneShotTask,
  TaskResult,
  UserTask,
} from "./spec.js";

/** How one library runs each kind of task. */
export interface TaskRunners {
  clientCredentials(task: ClientCredentialTask, c: TaskContext): Promise<TaskResult>;
  users(task: UserTask, c: TaskContext): Promise<TaskResult>;
  serialization(cacheFile: string, c: TaskContext): Promise<TaskResult>;
  concurrentCold(task: ConcurrentTask, c: TaskContext): Promise<TaskResult>;
  endToEnd(task: EndToEndTask, c: TaskContext): Promise<TaskResult>;
  oneShot?(task: OneShotTask, c: TaskContext): Promise<TaskResult>;
  flat?(task: FlatTask, c: TaskContext): Promise<TaskResult>;
  memory?(task: MemoryTask, c: TaskContext): Promise<TaskResult>;
  growth?(task: GrowthTask, c: TaskContext): Promise<TaskResult>;
}

function unsupported(name: LibraryName, kind: string): never {
  throw new Error(`${name} has no runner for ${kind} tasks`);
}

/** A {@link Library} that sends each task to its runner. */
export function library(name: LibraryName, version: string, runners: TaskRunners): Library {
  return {
    name,
    version,
    run(task, c) {
      switch (task.kind) {
        case "cc-hit":
        case "cc-miss":
          return runners.clientCredentials(task, c);
        case "silent-hit":
        case "silent-refresh":
        case "get-accounts":
          return runners.users(task, c);
        case "serialization":
          return runners.serialization(task.cacheFile, c);
        case "concurrent-cold":
          return runners.concurrentCold(task, c);
        case "e2e":
          return runners.endToEnd(task, c);
        case "one-shot":
          return runners.oneShot ? runners.oneShot(task, c) : unsupported(name, task.kind);
        case "flat-cc":
        case "flat-silent":
          return runners.flat ? runners.flat(task, c) : unsupported(name, task.kind);
        case "memory":
          return runners.memory ? runners.memory(task, c) : unsupported(name, task.kind);
        case "growth":
          return runners.growth ? runners.growth(task, c) : unsupported(name, task.kind);
      }
    },
  };
}
