/** The `msal-ts` command: sign in, get tokens for scripts, inspect the cache, run the emulator. */
import { runEmulatorCommand } from "../../emulator/cli.js";
import { MsalError, NetworkError } from "../node/index.js";
import { VERSION } from "../version.js";
import { COMMANDS, commandHelp, runCommand } from "./commands.js";
import { runDemo } from "./demo.js";
import { UsageError } from "./options.js";
import { closest } from "./suggest.js";
import { fail, terminal } from "./terminal.js";

const HELP = `Usage: msal-ts <command> [options]

Commands:
  login      sign a user in (browser, or --device-code), or an app (--service-principal); tokens go to the cache file
  token      print an access token for the signed-in account (silent: cache or refresh), or the app's (--app)
  accounts   list the signed-in accounts
  logout     sign accounts (or, with --service-principal, the app) out of the cache
  cache      show where the cache is and what it holds (no secrets)
  emulator   start the local Entra ID emulator
  demo       walk through sign-in against the embedded emulator (what \`npm start\` runs)
  help       show a command's options: msal-ts help <command>

Options:
  -V, --version   print the version
  -h, --help      show this help

Run \`msal-ts <command> --help\` for a command's options. Against real Entra ID set MSAL_CLIENT_ID
(and MSAL_AUTHORITY) or pass --client-id and --authority.
`;

const DEMO_HELP =
  "Usage: msal-ts demo\n\nStarts the embedded Entra ID emulator and walks through sign-in, app tokens, the cache and refresh.\n";

const ALL_COMMANDS = [...COMMANDS, "emulator", "demo", "help"];

function unknownCommand(command: string): never {
  const guess = closest(command, ALL_COMMANDS);
  throw new UsageError(
    `unknown command "${command}".`,
    guess
      ? `did you mean \`msal-ts ${guess}\`? Run \`msal-ts --help\` for the list.`
      : "run `msal-ts --help` for the list.",
  );
}

/** `msal-ts help <command>`, the same text as `msal-ts <command> --help`. */
async function help(topic: string | undefined, write: (text: string) => void): Promise<number> {
  if (topic === undefined) write(HELP);
  else if (topic === "emulator") return runEmulatorCommand(["--help"]);
  else if (topic === "demo") write(DEMO_HELP);
  else if (topic === "help")
    write("Usage: msal-ts help [command]\n\nShows a command's options, or the list of commands.\n");
  else write(commandHelp(topic) ?? unknownCommand(topic));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const t = terminal();
  const write = (text: string) => t.out.write(text);
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "-V":
      case "--version":
        write(rest.includes("--json") ? `${JSON.stringify({ version: VERSION })}\n` : `msal-ts ${VERSION}\n`);
        return 0;
      case "emulator":
        return await runEmulatorCommand(rest);
      case "demo":
        if (rest.includes("--help") || rest.includes("-h")) return help("demo", write);
        if (rest.length > 0) unknownCommandOption("demo", rest[0] as string);
        return await runDemo(t);
      case undefined:
      case "--help":
      case "-h":
        return help(undefined, write);
      case "help":
        if (rest.length > 1) throw new UsageError("help takes one command.", "run `msal-ts help <command>`.");
        return await help(rest[0], write);
      default:
        if (COMMANDS.includes(command)) return await runCommand(command, rest, t);
        if (command.startsWith("-"))
          throw new UsageError(
            `unknown option ${command}.`,
            "options follow the command: run `msal-ts --help`.",
          );
        return unknownCommand(command);
    }
  } catch (error) {
    if (error instanceof UsageError) return fail(t, error.message, error.hint, 2);
    if (error instanceof NetworkError)
      return fail(t, error.message.replace(error.hint, "").trim(), error.hint);
    if (error instanceof MsalError) return fail(t, error.message);
    return fail(t, error instanceof Error ? error.message : String(error));
  }
}

function unknownCommandOption(command: string, option: string): never {
  throw new UsageError(`unknown option ${option}.`, `\`msal-ts ${command}\` takes no options.`);
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
