/**
 * Deno runs the portable flows through the installed package (the `deno` export condition), with
 * network access to the emulator and the sign-in service only, and read access to its input only.
 * Deno trusts an extra CA given with `--cert` (or DENO_CERT).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describePortableFlows } from "./portable-flows.js";
import { deno, environmentWithoutCa } from "./support.js";

describePortableFlows(deno(), "Deno", "with --cert", (project, inputFile, emulator) => {
  const caFile = join(project.dir, "emulator-ca.pem");
  writeFileSync(caFile, emulator.caPem);
  const emulatorHost = new URL(emulator.url).host;
  return {
    file: deno().path,
    args: [
      "run",
      "--cert",
      caFile,
      `--allow-net=${emulatorHost},127.0.0.1`,
      `--allow-read=${inputFile}`,
      "portable-flows.mjs",
      inputFile,
    ],
    env: { ...environmentWithoutCa(), DENO_NO_UPDATE_CHECK: "1" },
  };
});
