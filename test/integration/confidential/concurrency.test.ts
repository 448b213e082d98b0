/**
 * Identical concurrent requests on one app share one token request: 100 cold client credential
 * calls, and 100 on-behalf-of calls with the same assertion.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { app, startTestEmulator, user } from "../../support/emulator.js";
import {
  confidentialApp,
  daemonWithSecret,
  GRAPH_DEFAULT,
  middleTierAssertion,
  success,
  tokenRequests,
} from "./helpers.js";

const CALLS = 100;

describe("concurrent acquisitions on one app", () => {
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(() => emulator?.stop());
  beforeEach(() => emulator.clearRequests());

  it(`${CALLS} concurrent cold acquireTokenForClient calls send one token request`, async () => {
    const cca = daemonWithSecret(emulator);
    const results = await Promise.all(
      Array.from({ length: CALLS }, () => cca.acquireTokenForClient(GRAPH_DEFAULT)),
    );
    expect(tokenRequests(emulator)).toHaveLength(1);
    expect(emulator.requests("discovery")).toHaveLength(1);
    const tokens = new Set(results.map((r) => success(r).access_token));
    expect(tokens.size).toBe(1);
    expect(results.every((r) => success(r).token_source === "identity_provider")).toBe(true);
    // And afterwards the cache answers.
    expect(success(await cca.acquireTokenForClient(GRAPH_DEFAULT))).toMatchObject({
      token_source: "cache",
      access_token: [...tokens][0],
    });
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it(`${CALLS} concurrent acquireTokenOnBehalfOf calls with the same assertion send one token request`, async () => {
    const assertion = await middleTierAssertion(emulator, user(emulator, "managed"));
    emulator.clearRequests();
    const middleTier = app(emulator, "middle-tier");
    const cca = confidentialApp(emulator, middleTier, middleTier.secret as string);
    const results = await Promise.all(
      Array.from({ length: CALLS }, () =>
        cca.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]),
      ),
    );
    expect(tokenRequests(emulator)).toHaveLength(1);
    const tokens = new Set(results.map((r) => success(r).access_token));
    expect(tokens.size).toBe(1);
  });
});
