/** The forms a confidential client's credential can take. */

/** A certificate: its private key, and the certificate or thumbprints that identify it. */
export interface CertificateCredential {
  /** PEM private key: PKCS#8, or (on Node) PKCS#1 and encrypted PEM with `passphrase`. */
  privateKey: string | Uint8Array;
  /** SHA-1 thumbprint, hex (as the Entra portal shows it). Derived from `publicCertificate` when absent. */
  thumbprint?: string;
  /** SHA-256 thumbprint, hex. Derived from `publicCertificate` when absent. */
  thumbprintSha256?: string;
  /** The certificate (PEM, chain allowed): sent as `x5c` for subject name + issuer (SNI) authentication. */
  publicCertificate?: string;
  /** The passphrase of an encrypted PEM private key (Node only). */
  passphrase?: string;
}

/** A PKCS#12 (PFX) file's bytes, as OpenSSL 3 writes it by default or with `-legacy`. Node only. */
export interface PfxCredential {
  /** The PKCS#12 file's bytes, e.g. from `readFile("app.pfx")`. */
  pfx: Uint8Array;
  /** The PKCS#12 file's password, if it has one. */
  passphrase?: string;
  /** Send the certificate chain as `x5c` (subject name + issuer authentication). */
  sendX5c?: boolean;
}

/** A signed client assertion (a JWT, e.g. a federated workload identity token), or a function that makes one. */
export interface AssertionCredential {
  /**
   * The assertion, or a function called for every token request that returns a fresh one (federated tokens
   * expire, so read the file again each time).
   */
  clientAssertion:
    | string
    | ((context: { clientId: string; tokenEndpoint: string }) => string | Promise<string>);
}

/**
 * A confidential client's credential: a client secret, a certificate, a PFX, or an assertion.
 *
 * @example
 * ```ts
 * const secret: ClientCredential = clientSecretFromYourVault;
 * const pem: ClientCredential = { privateKey: keyPem, publicCertificate: certPem };
 * const pfx: ClientCredential = { pfx: await readFile("app.pfx"), passphrase: "..." };
 * const federated: ClientCredential = { clientAssertion: () => readFile(tokenFile, "utf8") };
 * ```
 */
export type ClientCredential = string | CertificateCredential | PfxCredential | AssertionCredential;

/** A certificate ready to sign with: what platform code makes of the forms above. */
export interface PreparedCertificate {
  /** Unencrypted PKCS#8 PEM. */
  privateKeyPkcs8: string;
  /** Upper-case hex. */
  thumbprintSha1?: string;
  /** Upper-case hex. */
  thumbprintSha256?: string;
  /** base64 DER certificates, leaf first, when `x5c` is to be sent. */
  x5c?: string[];
}
