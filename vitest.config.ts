import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    pool: "forks",
    // undici announces its SOCKS5 support as experimental once per process (docs/transport.md says
    // so to users); the SOCKS tests would print it in every run.
    execArgv: ["--disable-warning=ExperimentalWarning"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
