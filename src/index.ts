/**
 * msal-ts: the Microsoft Authentication Library for TypeScript.
 * @packageDocumentation
 */
export const VERSION = "0.1.0";
