/**
 * Bun runs the portable flows through the installed package (the `bun` export condition). Bun
 * trusts an extra CA from NODE_EXTRA_CA_CERTS, read at start as Node does.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describePortableFlows } from "./portable-flows.js";
import { bun, environmentWithoutCa } from "./support.js";

describePortableFlows(bun(), "Bun", "through NODE_EXTRA_CA_CERTS", (project, inputFile, emulator) => {
  const caFile = join(project.dir, "emulator-ca.pem");
  writeFileSync(caFile, emulator.caPem);
  return {
    file: bun().path,
    args: ["run", "portable-flows.mjs", inputFile],
    env: { ...environmentWithoutCa(), NODE_EXTRA_CA_CERTS: caFile },
  };
});
