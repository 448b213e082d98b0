/**
 * Type tests for results, prompts and error codes (issue: results must narrow and typos must not
 * compile). Checked by `npm run typecheck` and by test/types/types.test.ts in `npm test`: each
 * `expectTypeOf` and each `@ts-expect-error` below stops compiling if the type it checks regresses
 * (an index signature back on a result, `error` typed as a plain `string`, `prompt` as `string`,
 * error codes as `string`).
 */
import { expectTypeOf } from "vitest";
import {
  type Account,
  type AuthFlowErrorCode,
  type ConfidentialClientApplication,
  type DeviceFlow,
  IdTokenError,
  type IdTokenErrorCode,
  isTokenError,
  MsalError,
  type MsalErrorCode,
  type NetworkError,
  type OAuthErrorCode,
  Prompt,
  type PublicClientApplication,
  type TokenFailure,
  type TokenResult,
  type TokenSuccess,
} from "../../src/node/index.js";

export function narrowsWithTruthyError(result: TokenResult): void {
  if (result.error) {
    expectTypeOf(result).toEqualTypeOf<TokenFailure>();
    expectTypeOf(result.error).toEqualTypeOf<OAuthErrorCode>();
  } else {
    expectTypeOf(result).toEqualTypeOf<TokenSuccess>();
    expectTypeOf(result.access_token).toEqualTypeOf<string>();
  }
  if (!result.error) expectTypeOf(result).toEqualTypeOf<TokenSuccess>();
}

/**
 * `"error" in result` leaves a success in its `else` branch. In its `then` branch TypeScript keeps
 * both members, because a success declares `error` (as `never`) so that `result.error` can be read
 * unnarrowed, and `in` keeps every member that declares the property. The failure's fields read as
 * the failure's types all the same.
 */
export function narrowsWithErrorIn(result: TokenResult): void {
  if ("error" in result) {
    expectTypeOf(result.error).toEqualTypeOf<OAuthErrorCode | undefined>();
    expectTypeOf(result.error_description).toEqualTypeOf<string | undefined>();
    expectTypeOf(result.error_codes).toEqualTypeOf<number[] | undefined>();
  } else {
    expectTypeOf(result).toEqualTypeOf<TokenSuccess>();
  }
}

export function narrowsWithAccessTokenIn(result: TokenResult): void {
  if ("access_token" in result) expectTypeOf(result).toEqualTypeOf<TokenSuccess>();
  else expectTypeOf(result).toEqualTypeOf<TokenFailure>();
}

export function narrowsWithIsTokenError(result: TokenResult, flow: DeviceFlow | TokenFailure): void {
  if (isTokenError(result)) expectTypeOf(result).toEqualTypeOf<TokenFailure>();
  else expectTypeOf(result).toEqualTypeOf<TokenSuccess>();
  if (isTokenError(flow)) expectTypeOf(flow).toEqualTypeOf<TokenFailure>();
  else expectTypeOf(flow).toEqualTypeOf<DeviceFlow>();
  if (flow.error) expectTypeOf(flow).toEqualTypeOf<TokenFailure>();
  else expectTypeOf(flow).toEqualTypeOf<DeviceFlow>();
}

export function catchesTypos(success: TokenSuccess, failure: TokenFailure, result: TokenResult): void {
  // @ts-expect-error a misspelt wire name
  success.acess_token;
  // @ts-expect-error msal-node's camelCase name: results keep the wire names
  success.accessToken;
  // @ts-expect-error msal-node's expiresOn: results have expires_in
  success.expiresOn;
  // @ts-expect-error a misspelt failure field
  failure.error_descripton;
  // @ts-expect-error the token of a result that was not narrowed
  result.access_token;
  // A success has no error fields: reading one gives `never`/`undefined`, writing one does not compile.
  expectTypeOf(success.error).toEqualTypeOf<undefined>();
  const withError: TokenSuccess = {
    access_token: "a",
    token_type: "Bearer",
    expires_in: 1,
    token_source: "cache",
    // @ts-expect-error an error field on a success
    error: "x",
  };
  // @ts-expect-error an empty error code would read as "no error"
  const emptyError: TokenFailure = { error: "" };
  void withError;
  void emptyError;
}

export function keepsUnknownFieldsUnderOneName(success: TokenSuccess, failure: TokenFailure): void {
  expectTypeOf(success.additional_fields).toEqualTypeOf<Record<string, unknown> | undefined>();
  expectTypeOf(failure.additional_fields).toEqualTypeOf<Record<string, unknown> | undefined>();
}

export function knowsEveryFieldsType(success: TokenSuccess, failure: TokenFailure): void {
  expectTypeOf(success.expires_in).toEqualTypeOf<number>();
  expectTypeOf(success.token_source).toEqualTypeOf<"identity_provider" | "cache">();
  expectTypeOf(success.refresh_on).toEqualTypeOf<number | undefined>();
  expectTypeOf(failure.retry_after).toEqualTypeOf<number | undefined>();
  expectTypeOf(failure.requires_interaction).toEqualTypeOf<boolean | undefined>();
  expectTypeOf(failure.status).toEqualTypeOf<number | undefined>();
}

export async function carriesTheSignedInAccount(
  app: PublicClientApplication,
  result: TokenSuccess,
): Promise<void> {
  expectTypeOf(result.account).toEqualTypeOf<Account | undefined>();
  // The account of a result goes straight into a silent call.
  if (result.account) await app.acquireTokenSilent(["User.Read"], result.account);
}

export function typesPrompt(app: ConfidentialClientApplication): void {
  app.initiateAuthCodeFlow(["User.Read"], {
    redirectUri: "http://localhost/cb",
    prompt: Prompt.SELECT_ACCOUNT,
  });
  app.initiateAuthCodeFlow(["User.Read"], { redirectUri: "http://localhost/cb", prompt: "consent" });
  // @ts-expect-error not a prompt value
  app.initiateAuthCodeFlow(["User.Read"], { redirectUri: "http://localhost/cb", prompt: "selectaccount" });
  expectTypeOf<Prompt>().toEqualTypeOf<"none" | "login" | "consent" | "select_account" | "create">();
}

export function typesErrorCodes(error: unknown): void {
  expectTypeOf<IdTokenError["code"]>().toEqualTypeOf<IdTokenErrorCode>();
  expectTypeOf<NetworkError["code"]>().toEqualTypeOf<"network_error">();
  expectTypeOf<MsalError["code"]>().toEqualTypeOf<MsalErrorCode>();
  expectTypeOf<AuthFlowErrorCode>().toExtend<MsalErrorCode>();
  if (error instanceof IdTokenError) {
    // @ts-expect-error a misspelt code has no overlap with IdTokenErrorCode
    if (error.code === "id_token_nonce_mismatched") return;
    // @ts-expect-error a code of another class
    if (error.code === "network_error") return;
  }
  if (error instanceof MsalError) {
    // @ts-expect-error no MsalError has this code
    if (error.code === "cache_deserialisation_failed") return;
    if (error.code === "cache_deserialization_failed") return;
  }
}
