/**
 * Public clients: desktop, mobile and command-line apps, which cannot keep a secret.
 */
import type { AuthorityOverride } from "../flows/common.js";
import {
  acquireTokenByDeviceFlow,
  type DeviceFlow,
  type DeviceFlowRequest,
  initiateDeviceFlow,
} from "../flows/device-code.js";
import { acquireTokenInteractive, type InteractiveRequest } from "../flows/interactive.js";
import type { TokenFailure, TokenResult } from "../protocol/token-result.js";
import { ClientApplication } from "./client-application.js";
import type { ClientApplicationOptions } from "./options.js";
import type { Platform } from "./platform.js";

/** Public clients hold back 60 s after a 429/5xx without a usable Retry-After (MSAL Python's default). */
const PUBLIC_RETRY_AFTER_SECONDS = 60;

/**
 * An application that signs users in on their own device.
 *
 * @example
 * ```ts
 * import { PublicClientApplication } from "msal-ts";
 *
 * const app = new PublicClientApplication("my-client-id", { authority: "https://login.microsoftonline.com/organizations" });
 * const [account] = await app.getAccounts();
 * const token = account ? await app.acquireTokenSilent(["User.Read"], account) : null;
 * ```
 */
export class PublicClientApplication extends ClientApplication {
  constructor(clientId: string, options: ClientApplicationOptions = {}, platform?: Platform) {
    super(clientId, options, {
      kind: "public",
      defaultRetryAfterSeconds: PUBLIC_RETRY_AFTER_SECONDS,
      ...(platform ? { platform } : {}),
    });
  }

  /**
   * Starts a device code sign-in: show `flow.message` to the user, then call
   * {@link PublicClientApplication.acquireTokenByDeviceFlow}. A failure comes back as a result with `error`.
   *
   * @example
   * ```ts
   * const flow = await app.initiateDeviceFlow(["User.Read"]);
   * if (isTokenError(flow)) throw new Error(flow.error_description);
   * console.log(flow.message);
   * const result = await app.acquireTokenByDeviceFlow(flow);
   * ```
   */
  initiateDeviceFlow(
    scopes: string[],
    options: AuthorityOverride & { signal?: AbortSignal } = {},
  ): Promise<DeviceFlow | TokenFailure> {
    return initiateDeviceFlow(this.ctx, scopes, options);
  }

  /**
   * Signs a user in through the system browser: a loopback listener receives the response at
   * `http://localhost:<port>`, holding the port on both 127.0.0.1 and ::1 (register
   * `http://localhost` as a redirect URI). Apps registered with `http://127.0.0.1` pass
   * `redirectUri: "http://127.0.0.1"` (a port and a path may follow). Where there is no browser it
   * throws `BrowserUnavailableError`: use the device code flow there.
   *
   * @example
   * ```ts
   * const result = await app.acquireTokenInteractive(["User.Read"], { timeout: 120_000 });
   * const pinned = await app.acquireTokenInteractive(["User.Read"], { redirectUri: "http://127.0.0.1:8400" });
   * ```
   */
  acquireTokenInteractive(scopes: string[], options: InteractiveRequest = {}): Promise<TokenResult> {
    return acquireTokenInteractive(this.ctx, scopes, options, this.ctx.platform);
  }

  /** Polls until the user completes the device code sign-in, the code expires, or `signal` aborts. */
  acquireTokenByDeviceFlow(flow: DeviceFlow, options: DeviceFlowRequest = {}): Promise<TokenResult> {
    return acquireTokenByDeviceFlow(this.ctx, flow, options);
  }
}

export { Prompt } from "../flows/auth-code.js";
