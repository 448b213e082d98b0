/**
 * Runs a peer process (bench/peer-node.ts or bench/peer_msal_python.py) over a list of tasks and
 * keeps it to time: a task whose measurement outlives its budget is stopped (the process is killed
 * and the figure reported as "> budget"), and a new process takes the remaining tasks.
 */
import { spawn } from "node:child_process";
import type { LibraryName, PeerEvent, PeerSpec, Task, TaskResult } from "./spec.js";

export type TaskOutcome =
  | { status: "done"; value: TaskResult; seconds: number }
  | { status: "stopped"; afterSeconds: number; phase: "setup" | "measurement" }
  | { status: "error"; message: string };

export interface PeerRun {
  library: LibraryName;
  version?: string;
  runtime?: string;
  outcomes: Record<string, TaskOutcome>;
}

export interface PeerCommand {
  library: LibraryName;
  command: string;
  args: string[];
  cwd: string;
  env?: Record<string, string>;
  /** Seconds a task may spend setting up (loading caches, priming) before it is stopped. */
  setupBudgetSeconds: number;
  progress: (line: string) => void;
}

interface Attempt {
  finished: Set<string>;
  /** Set when the runner killed the process; the task then counts as stopped. */
  killed?: { task: string; seconds: number; phase: "setup" | "measurement" };
  exitCode: number | null;
  stderr: string;
}

function describe(task: Task, value: TaskResult, seconds: number): string {
  const figure = value.timing
    ? `${value.timing.median.toFixed(2)} µs/call`
    : Object.entries(value.timings ?? {})
        .map(([k, t]) => `${k} ${(t.median / 1000).toFixed(2)} ms`)
        .join(", ") || JSON.stringify(value.facts).slice(0, 120);
  return `${task.id}: ${figure} (${seconds.toFixed(1)} s)`;
}

function attempt(cmd: PeerCommand, spec: PeerSpec, tasks: Task[], run: PeerRun): Promise<Attempt> {
  return new Promise((resolve) => {
    const child = spawn(cmd.command, cmd.args, {
      cwd: cmd.cwd,
      env: { ...process.env, ...cmd.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const state: Attempt = { finished: new Set(), exitCode: null, stderr: "" };
    const byId = new Map(tasks.map((t) => [t.id, t]));
    let timer: NodeJS.Timeout | undefined;
    let started = 0;
    const arm = (task: Task, seconds: number, phase: "setup" | "measurement") => {
      clearTimeout(timer);
      started = performance.now();
      timer = setTimeout(() => {
        state.killed = { task: task.id, seconds, phase };
        child.kill("SIGKILL");
      }, seconds * 1000);
    };
    const next = () => tasks.find((t) => !state.finished.has(t.id));
    const first = next();
    if (first) arm(first, cmd.setupBudgetSeconds, "setup");
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
        if (!line.startsWith("{")) continue;
        const event = JSON.parse(line) as PeerEvent;
        if (event.event === "hello") {
          run.version = event.version;
          run.runtime = event.runtime;
        } else if (event.event === "ready") {
          const task = byId.get(event.task);
          if (task) arm(task, task.budgetSeconds, "measurement");
        } else if (event.event === "result" || event.event === "error") {
          const task = byId.get(event.task) as Task;
          const seconds = (performance.now() - started) / 1000;
          state.finished.add(event.task);
          if (event.event === "result") {
            run.outcomes[event.task] = { status: "done", value: event.value, seconds };
            cmd.progress(`${cmd.library} ${describe(task, event.value, seconds)}`);
          } else {
            run.outcomes[event.task] = { status: "error", message: event.message };
            cmd.progress(`${cmd.library} ${event.task}: ERROR ${event.message.split("\n")[0]}`);
          }
          const upcoming = next();
          if (upcoming) arm(upcoming, cmd.setupBudgetSeconds, "setup");
          else clearTimeout(timer);
        }
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      state.stderr = (state.stderr + chunk.toString("utf8")).slice(-4000);
    });
    child.on("error", (error) => {
      state.stderr += String(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      state.exitCode = code;
      resolve(state);
    });
    child.stdin.end(JSON.stringify({ ...spec, tasks }));
  });
}

/** Runs every task of `spec` in `cmd`'s peer, restarting it after a stopped or crashed task. */
export async function runPeer(cmd: PeerCommand, spec: PeerSpec): Promise<PeerRun> {
  const run: PeerRun = { library: cmd.library, outcomes: {} };
  let remaining = [...spec.tasks];
  while (remaining.length > 0) {
    const result = await attempt(cmd, spec, remaining, run);
    const unfinished = remaining.filter((t) => !result.finished.has(t.id));
    const [current] = unfinished;
    if (current) {
      if (result.killed?.task === current.id) {
        run.outcomes[current.id] = {
          status: "stopped",
          afterSeconds: result.killed.seconds,
          phase: result.killed.phase,
        };
        cmd.progress(
          `${cmd.library} ${current.id}: stopped after ${result.killed.seconds} s (${result.killed.phase})`,
        );
      } else {
        const message = `the peer exited (code ${result.exitCode}) during this task: ${result.stderr.trim().slice(-1500)}`;
        run.outcomes[current.id] = { status: "error", message };
        cmd.progress(`${cmd.library} ${current.id}: ERROR ${message.split("\n")[0]}`);
      }
    }
    remaining = unfinished.slice(1);
  }
  return run;
}
