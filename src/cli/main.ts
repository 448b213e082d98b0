#!/usr/bin/env node
/** The `msal-ts` command. */
import { runEmulatorCommand } from "../../emulator/cli.js";
import { runDemo } from "./demo.js";

const HELP = `Usage: msal-ts <command> [options]

Commands:
  demo       walk through a sign-in against the embedded emulator (what \`npm start\` runs)
  emulator   start the local Entra ID emulator (msal-ts emulator --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "emulator":
      return runEmulatorCommand(rest);
    case "demo":
      return runDemo();
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`msal-ts: unknown command "${command}". Run "msal-ts --help" for the list.\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`msal-ts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
