/**
 * Type test: what `tokenCredential` returns is an `@azure/core-auth` `TokenCredential`, so it can be
 * given to any Azure SDK client, and the options Azure SDK clients pass to `getToken` (their
 * `GetTokenOptions`, with an `AbortSignalLike`) are accepted as they are. msal-ts declares these
 * shapes itself (no runtime dependency on the Azure SDK); this file stops compiling if they drift.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import type { StorageSharedKeyCredential } from "@azure/storage-blob";
import { BlobServiceClient } from "@azure/storage-blob";
import { expectTypeOf } from "vitest";
import {
  type AzureAccessToken,
  type AzureGetTokenOptions,
  type ConfidentialClientApplication,
  type ManagedIdentityClient,
  type MsalTokenCredential,
  type PublicClientApplication,
  tokenCredential,
} from "../../src/node/index.js";

declare const app: ConfidentialClientApplication;
declare const publicApp: PublicClientApplication;
declare const managedIdentity: ManagedIdentityClient;

export function credentialsAreTokenCredentials(): TokenCredential[] {
  expectTypeOf<MsalTokenCredential>().toExtend<TokenCredential>();
  expectTypeOf<AzureAccessToken>().toExtend<AccessToken>();
  expectTypeOf<GetTokenOptions>().toExtend<AzureGetTokenOptions>();
  return [tokenCredential(app), tokenCredential(publicApp), tokenCredential(managedIdentity)];
}

export function azureSdkClientsTakeIt(): BlobServiceClient {
  return new BlobServiceClient("https://account.blob.core.windows.net", tokenCredential(app));
}

export async function getTokenTakesWhatTheSdkPasses(options: GetTokenOptions): Promise<AccessToken> {
  return tokenCredential(app).getToken(["https://storage.azure.com/.default"], options);
}

export function notEveryObjectIsAClient(key: StorageSharedKeyCredential): void {
  // @ts-expect-error a storage key is not an msal-ts client
  tokenCredential(key);
}
