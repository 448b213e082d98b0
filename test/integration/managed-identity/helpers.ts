/**
 * Managed identity against the emulator: a client pointed at one of its sources through the
 * environment variables that source's host sets (and nothing else), and what the tests read back.
 */
import { createHash } from "node:crypto";
import { decodeJwt, type JWTPayload } from "jose";
import { expect } from "vitest";
import {
  type EmulatorWithManagedIdentity,
  type ManagedIdentitySettingsInput,
  startEmulator,
} from "../../../emulator/index.js";
import {
  isTokenError,
  type ManagedIdentity,
  ManagedIdentityClient,
  type ManagedIdentityClientOptions,
  type ManagedIdentityPlatform,
  nodeManagedIdentityPlatform,
  type TokenFailure,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { sharedCertificateAuthority } from "../../support/emulator.js";

export type Source = "appService" | "serviceFabric" | "azureArc" | "cloudShell" | "machineLearning" | "imds";

/** The emulator's request-log name of each source's endpoint. */
export const ENDPOINT: Record<Source, string> = {
  appService: "app-service",
  serviceFabric: "service-fabric",
  azureArc: "azure-arc",
  cloudShell: "cloud-shell",
  machineLearning: "machine-learning",
  imds: "imds",
};

export const ARM = "https://management.azure.com";
export const VAULT = "https://vault.azure.net";

export function startManagedIdentityEmulator(
  settings: ManagedIdentitySettingsInput = {},
): Promise<EmulatorWithManagedIdentity> {
  return startEmulator({ certificateAuthority: sharedCertificateAuthority(), managedIdentity: { settings } });
}

/** The Node platform with the environment of `source`'s host (plus `env`), and `overrides`. */
export function hostOf(
  emulator: EmulatorWithManagedIdentity,
  source: Source,
  env: Record<string, string> = {},
  overrides: Partial<ManagedIdentityPlatform> = {},
): ManagedIdentityPlatform {
  const environment = { ...emulator.managedIdentity.environment(source), ...env };
  return { ...nodeManagedIdentityPlatform, env: () => environment, ...overrides };
}

/** A client on `source`'s host; Azure Arc's key files are looked for where the emulator writes them. */
export function clientOn(
  emulator: EmulatorWithManagedIdentity,
  source: Source,
  identity: ManagedIdentity,
  options: ManagedIdentityClientOptions = {},
  platform: ManagedIdentityPlatform = hostOf(emulator, source),
): ManagedIdentityClient {
  const arc =
    source === "azureArc" ? { arcKeyDirectoryForTests: emulator.managedIdentity.arcKeyDirectory } : {};
  return new ManagedIdentityClient(identity, { ...arc, ...options }, platform);
}

/** Requests the source's endpoint got. */
export function requestsTo(emulator: EmulatorWithManagedIdentity, source: Source) {
  return emulator.requests(ENDPOINT[source]);
}

export function success(result: TokenResult): TokenSuccess {
  if (isTokenError(result))
    throw new Error(`expected a token, got ${result.error}: ${result.error_description}`);
  return result;
}

export function failure(result: TokenResult): TokenFailure {
  if (!isTokenError(result))
    throw new Error(`expected an error result, got a token from ${result.token_source}`);
  return result;
}

/** The access token's claims, after checking it is an app-only managed identity token for `identity`. */
export function claimsFor(
  result: TokenResult,
  identity: { clientId: string; objectId: string; resourceId: string },
): JWTPayload {
  const claims = decodeJwt(success(result).access_token);
  expect(claims).toMatchObject({ appid: identity.clientId, oid: identity.objectId, idtyp: "app" });
  expect(String(claims.xms_mirid).toLowerCase()).toBe(identity.resourceId.toLowerCase());
  return claims;
}

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
