/**
 * Regional token endpoints (ESTS-R) for confidential clients' client credential requests, as MSAL
 * Python decides them (spec section 7): a configured region, `MSAL_FORCE_REGION`, or detection
 * (`REGION_NAME`, then the instance metadata service).
 */

import type { HttpConfig } from "../http/client.js";
import { send } from "../http/client.js";
import type { Authority } from "./authority.js";

/**
 * `azureRegion: ATTEMPT_REGION_DISCOVERY` detects the region the app runs in (Azure VMs, App
 * Service, Functions). Detection failing means the global endpoint is used.
 */
export const ATTEMPT_REGION_DISCOVERY = true;

/**
 * The `azureRegion` option: a region name such as `westus2`, {@link ATTEMPT_REGION_DISCOVERY} to detect it,
 * `false` for the global endpoint, or `undefined` to follow the `MSAL_FORCE_REGION` environment variable.
 */
export type AzureRegionOption = string | typeof ATTEMPT_REGION_DISCOVERY | false | undefined;

export const IMDS_REGION_URL =
  "http://169.254.169.254/metadata/instance/compute/location?format=text&api-version=2021-01-01";
const IMDS_TIMEOUT_MS = 2000;

const CENTRAL_HOSTS = new Set([
  "login.microsoftonline.com",
  "login.microsoft.com",
  "login.windows.net",
  "sts.windows.net",
]);

export interface RegionEnvironment {
  env: Record<string, string | undefined>;
  http: HttpConfig;
  /** Where to ask the instance metadata service (tests point it at the emulator). */
  imdsRegionUrl?: string;
}

async function detectRegion(environment: RegionEnvironment): Promise<string | undefined> {
  const fromEnv = environment.env.REGION_NAME?.replace(/\s+/g, "").toLowerCase();
  if (fromEnv) return fromEnv;
  try {
    const response = await send(
      { ...environment.http, timeoutMs: IMDS_TIMEOUT_MS },
      { method: "GET", url: environment.imdsRegionUrl ?? IMDS_REGION_URL, headers: { metadata: "true" } },
    );
    const region = response.status === 200 ? response.body.trim().toLowerCase() : "";
    return region || undefined;
  } catch {
    return undefined;
  }
}

/** The region to use, or `undefined` for the global endpoint. */
export async function resolveRegion(
  option: AzureRegionOption,
  environment: RegionEnvironment,
): Promise<string | undefined> {
  if (option === false) return undefined;
  if (option === undefined) return environment.env.MSAL_FORCE_REGION?.trim() || undefined;
  if (option === ATTEMPT_REGION_DISCOVERY) return detectRegion(environment);
  return option.trim().toLowerCase() || undefined;
}

/** `<region>.login.microsoft.com` for Microsoft's public cloud, else `<region>.<host>`. */
export function regionalHost(authority: Authority, region: string): string {
  return CENTRAL_HOSTS.has(authority.host) ? `${region}.login.microsoft.com` : `${region}.${authority.host}`;
}
