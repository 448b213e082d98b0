/**
 * Preloaded with `node --import` by the keyring tests: makes `@napi-rs/keyring` impossible to
 * resolve, as on an install without optional dependencies (npm install --omit=optional).
 */
import { register } from "node:module";

const hook = `export async function resolve(specifier, context, next) {
  if (specifier === "@napi-rs/keyring" || specifier.startsWith("@napi-rs/keyring/")) {
    const error = new Error("Cannot find package '@napi-rs/keyring' (hidden by keyring-no-binding.mjs)");
    error.code = "ERR_MODULE_NOT_FOUND";
    throw error;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
