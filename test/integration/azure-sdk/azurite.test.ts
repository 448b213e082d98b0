/**
 * An unmodified Azure SDK client (`@azure/storage-blob`) against a real Azurite that checks bearer
 * tokens (`--oauth basic`, HTTPS), with tokens msal-ts got from the emulator through
 * `tokenCredential`: a confidential client's client-credentials tokens for
 * `https://storage.azure.com/.default`, which the emulator issues in Entra's v1.0 form.
 */
import type { TokenCredential } from "@azure/core-auth";
import { BlobServiceClient, RestError } from "@azure/storage-blob";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { ConfidentialClientApplication, decodePart, tokenCredential } from "../../../src/node/index.js";
import { app, authority, startTestEmulator } from "../../support/emulator.js";
import { type Azurite, startAzurite } from "./azurite.js";

const STORAGE_SCOPE = "https://storage.azure.com/.default";

let emulator: Emulator;
let azurite: Azurite;

beforeAll(async () => {
  [emulator, azurite] = await Promise.all([startTestEmulator(), startAzurite()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([azurite?.stop(), emulator?.stop()]);
});
beforeEach(() => emulator.reset());

function daemonClient(): ConfidentialClientApplication {
  const daemon = app(emulator, "daemon");
  return new ConfidentialClientApplication(daemon.clientId, {
    authority: authority(emulator),
    validateAuthority: false,
    clientCredential: daemon.secret as string,
  });
}

const claimsOf = (token: string) => decodePart(token.split(".")[1] as string);

describe("@azure/storage-blob with tokenCredential against Azurite (--oauth basic)", () => {
  it("creates a container, uploads a blob and reads it back, with one token request", async () => {
    const client = daemonClient();
    const service = new BlobServiceClient(azurite.blobUrl, tokenCredential(client));
    const container = service.getContainerClient("reports");
    const text = "msal-ts -> Azurite, signed by the emulator\n";

    await container.create();
    const blob = container.getBlockBlobClient("2026/12/hello.txt");
    await blob.upload(text, Buffer.byteLength(text));
    const read = await blob.downloadToBuffer();
    const names: string[] = [];
    for await (const item of container.listBlobsFlat()) names.push(item.name);

    expect(read.toString("utf8")).toBe(text);
    expect(read.byteLength).toBe(43);
    expect(names).toEqual(["2026/12/hello.txt"]);
    const tokenRequests = emulator.requests("token");
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.form).toMatchObject({ grant_type: "client_credentials", scope: STORAGE_SCOPE });

    // The token the SDK sent is the one in the app's cache.
    const cached = await client.acquireTokenForClient([STORAGE_SCOPE]);
    if (cached.error) throw new Error(cached.error);
    expect(cached.token_source).toBe("cache");
    const tenant = emulator.directory.tenants[0]?.id;
    expect(claimsOf(cached.access_token)).toMatchObject({
      aud: "https://storage.azure.com",
      iss: `https://sts.windows.net/${tenant}/`,
      ver: "1.0",
      appid: app(emulator, "daemon").clientId,
      idtyp: "app",
      tid: tenant,
    });
  });

  it("Azurite refuses a token of the emulator's v2.0 form (a Graph token): the storage form is what it accepts", async () => {
    const credential = tokenCredential(daemonClient());
    const graphToken: TokenCredential = {
      getToken: (_scopes, options) => credential.getToken("https://graph.microsoft.com/.default", options),
    };
    const container = new BlobServiceClient(azurite.blobUrl, graphToken).getContainerClient("refused");

    const error = await container.create().then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(RestError);
    expect((error as RestError).statusCode).toBe(403);
    expect((error as RestError).code).toBe("AuthenticationFailed");
    expect((error as RestError).details).toMatchObject({
      authenticationErrorDetail: "Invalid token issuer.",
    });
  });
});
