/**
 * How a confidential client proves who it is at the token endpoint: the form fields for a client
 * secret (in the body, as MSAL does), a certificate's signed assertion, or a caller's assertion.
 */
import { ConfigurationError } from "../errors.js";
import { decodePart } from "../protocol/jwt.js";
import { type AssertionSigner, certificateSigner } from "./certificate.js";
import type { AssertionCredential, ClientCredential, PreparedCertificate } from "./types.js";

export const JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** Produces the client authentication fields for a token request. */
export type ClientAuthenticator = (tokenEndpoint: string) => Promise<Record<string, string>>;

/**
 * Turns a certificate credential (PEM or PFX) into a {@link PreparedCertificate}: how a {@link Platform}
 * reads keys (the Node entry's reads PFX and encrypted PEM).
 */
export type CertificatePreparer = (
  credential: Exclude<ClientCredential, string | AssertionCredential>,
) => PreparedCertificate | Promise<PreparedCertificate>;

/** Reuses a caller's assertion while its `exp` is more than a minute away; opaque ones are fetched each time. */
function assertionSource(
  credential: AssertionCredential,
  clientId: string,
): (tokenEndpoint: string) => Promise<string> {
  const { clientAssertion } = credential;
  if (typeof clientAssertion === "string") return async () => clientAssertion;
  let reusable: { value: string; until: number } | undefined;
  return async (tokenEndpoint) => {
    const now = Date.now() / 1000;
    if (reusable && reusable.until > now) return reusable.value;
    const value = await clientAssertion({ clientId, tokenEndpoint });
    if (typeof value !== "string" || value === "") {
      throw new ConfigurationError(
        "clientCredential",
        "The clientAssertion callback returned no assertion: it must return the signed JWT as a string.",
      );
    }
    try {
      const exp = decodePart(value.split(".")[1] ?? "").exp;
      reusable = typeof exp === "number" ? { value, until: exp - 60 } : undefined;
    } catch {
      reusable = undefined;
    }
    return value;
  };
}

export function clientAuthenticator(
  credential: ClientCredential,
  options: {
    clientId: string;
    clientClaims?: Record<string, unknown>;
    adfs: boolean;
    prepareCertificate: CertificatePreparer;
  },
): ClientAuthenticator {
  if (typeof credential === "string") {
    if (credential === "") {
      throw new ConfigurationError(
        "clientCredential",
        "clientCredential is an empty string: pass the client secret's value (not its id), a certificate, or an assertion.",
      );
    }
    return async () => ({ client_secret: credential });
  }
  if (typeof credential !== "object" || credential === null) {
    throw new ConfigurationError(
      "clientCredential",
      "clientCredential must be a secret string, { privateKey, ... }, { pfx, ... } or { clientAssertion }.",
    );
  }
  if ("clientAssertion" in credential) {
    if (
      credential.clientAssertion === "" ||
      (typeof credential.clientAssertion !== "string" && typeof credential.clientAssertion !== "function")
    ) {
      throw new ConfigurationError(
        "clientCredential",
        "clientCredential.clientAssertion must be a signed JWT string or a function returning one.",
      );
    }
    const source = assertionSource(credential, options.clientId);
    return async (tokenEndpoint) => ({
      client_assertion: await source(tokenEndpoint),
      client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
    });
  }
  if (!("pfx" in credential) && !("privateKey" in credential)) {
    throw new ConfigurationError(
      "clientCredential",
      "clientCredential must be a secret string, { privateKey, thumbprint | publicCertificate }, { pfx, passphrase } or { clientAssertion }.",
    );
  }
  const prepared = options.prepareCertificate(credential);
  let signer: Promise<AssertionSigner>;
  if (prepared instanceof Promise) {
    signer = prepared.then((certificate) => certificateSigner(certificate, options));
    // Reported when a token is requested; until then nobody waits on it.
    signer.catch(() => {});
  } else {
    signer = Promise.resolve(certificateSigner(prepared, options));
  }
  return async (tokenEndpoint) => ({
    client_assertion: await (await signer).assertionFor(tokenEndpoint),
    client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
  });
}
