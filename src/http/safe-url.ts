/** How msal-ts names a URL in errors and logs. */

/**
 * `scheme://host/path` of a URL: no query, fragment or credentials, and no user name (user realm
 * discovery's path ends with the UPN; an error may be logged by an app that never enabled PII).
 */
export function safeUrl(url: string): string {
  let shown: string;
  try {
    const parsed = new URL(url);
    shown = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    shown = url.replace(/[?#].*$/s, "").replace(/\/\/[^/@]*@/, "//");
  }
  return shown.replace(/(\/userrealm\/)[^/]+/i, "$1[PII hidden]");
}
