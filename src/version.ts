/** The library's version, sent to the identity provider as `x-client-Ver`. */
export const VERSION = "0.1.0";
