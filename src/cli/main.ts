#!/usr/bin/env node
/** The `msal-ts` command: sign in, get tokens for scripts, inspect the cache, run the emulator. */
import { runEmulatorCommand } from "../../emulator/cli.js";
import { MsalError, NetworkError } from "../node/index.js";
import { COMMAND_HELP, runCommand } from "./commands.js";
import { runDemo } from "./demo.js";
import { fail, terminal } from "./terminal.js";

const HELP = `Usage: msal-ts <command> [options]

Commands:
  login      sign a user in (browser, or --device-code) and keep the tokens in the cache file
  token      print an access token for the signed-in account (silent: cache or refresh)
  accounts   list the signed-in accounts
  logout     sign accounts out of the cache
  cache      show where the cache is and what it holds (no secrets)
  emulator   start the local Entra ID emulator
  demo       walk through sign-in against the embedded emulator (what \`npm start\` runs)

Run \`msal-ts <command> --help\` for a command's options. Against real Entra ID set MSAL_CLIENT_ID
(and MSAL_AUTHORITY) or pass --client-id and --authority.
`;

async function main(argv: string[]): Promise<number> {
  const t = terminal();
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "emulator":
        return await runEmulatorCommand(rest);
      case "demo":
        if (rest.includes("--help") || rest.includes("-h")) {
          t.out.write(
            "Usage: msal-ts demo\n\nStarts the embedded Entra ID emulator and walks through sign-in, app tokens, the cache and refresh.\n",
          );
          return 0;
        }
        return await runDemo(t);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        t.out.write(HELP);
        return 0;
      default:
        if (command in COMMAND_HELP) return await runCommand(command, rest, t);
        return fail(t, `unknown command "${command}".`, "run `msal-ts --help` for the list.", 2);
    }
  } catch (error) {
    if (error instanceof NetworkError)
      return fail(t, error.message.replace(error.hint, "").trim(), error.hint);
    if (error instanceof MsalError) return fail(t, error.message);
    if (error instanceof TypeError && /parseArgs|Unknown option|argument/i.test(error.message))
      return fail(t, error.message, "see --help.", 2);
    return fail(t, error instanceof Error ? error.message : String(error));
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`msal-ts: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
