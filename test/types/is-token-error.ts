/**
 * Type tests, checked by `npm run typecheck` (tsconfig.json includes test/): `isTokenError` narrows
 * a token result and the device flow's `DeviceFlow | TokenFailure` both ways. Each assertion fails to
 * compile if the narrowing is lost.
 */
import { expectTypeOf } from "vitest";
import {
  type DeviceFlow,
  isTokenError,
  type TokenFailure,
  type TokenResult,
  type TokenSuccess,
} from "../../src/node/index.js";

export function narrowsTokenResults(result: TokenResult): void {
  if (isTokenError(result)) expectTypeOf(result).toEqualTypeOf<TokenFailure>();
  else expectTypeOf(result).toEqualTypeOf<TokenSuccess>();
}

export function narrowsDeviceFlows(flow: DeviceFlow | TokenFailure): void {
  if (isTokenError(flow)) expectTypeOf(flow).toEqualTypeOf<TokenFailure>();
  else expectTypeOf(flow).toEqualTypeOf<DeviceFlow>();
}

export function takesNullFromSilentCalls(result: TokenSuccess | null): void {
  if (!isTokenError(result)) expectTypeOf(result).toEqualTypeOf<TokenSuccess | null>();
}
