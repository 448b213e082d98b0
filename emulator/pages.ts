/**
 * The HTML a person sees: sign-in (with the permissions being granted), account picker, consent,
 * device code entry, errors and sign-out. Plain forms with stable field names (`username`,
 * `password`, `action`) so tests can fill them over HTTP or drive them in a browser.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0;display:flex;justify-content:center}
main{background:#fff;margin-top:8vh;padding:32px 40px;width:380px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.4em;font-weight:600}label{display:block;margin-top:12px}
input[type=text],input[type=password],input[type=email]{width:100%;box-sizing:border-box;padding:6px;font-size:1em}
button{margin-top:16px;padding:8px 20px;font-size:1em}.error{color:#a80000}.muted{color:#666;font-size:.85em}
</style></head><body><main>
<p class="muted">msal-ts Entra ID emulator</p>
${content}
</main></body></html>`;
}

function hidden(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("\n");
}

export interface SignInPage {
  action: string;
  fields: Record<string, string>;
  appName: string;
  permissions: string[];
  username?: string;
  error?: string;
  note?: string;
}

export function signInPage(p: SignInPage): string {
  return page(
    "Sign in to your account",
    `<h1>Sign in</h1>
<p>to continue to <b>${escapeHtml(p.appName)}</b></p>
${p.note ? `<p class="muted">${escapeHtml(p.note)}</p>` : ""}
${p.error ? `<p class="error" id="error">${escapeHtml(p.error)}</p>` : ""}
<form method="post" action="${escapeHtml(p.action)}">
${hidden(p.fields)}
<label for="username">Email or username</label>
<input type="email" id="username" name="username" autocomplete="username" value="${escapeHtml(p.username ?? "")}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password">
${permissionList(p.permissions)}
<button type="submit" name="action" value="signin" id="signin">Sign in and accept</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
</form>`,
  );
}

function permissionList(permissions: string[]): string {
  if (permissions.length === 0) return "";
  const items = permissions.map((s) => `<li>${escapeHtml(s)}</li>`).join("");
  return `<p class="muted">By signing in you allow this app to use:</p><ul class="muted" id="permissions">${items}</ul>`;
}

export function accountPickerPage(
  action: string,
  fields: Record<string, string>,
  accounts: Array<{ oid: string; username: string }>,
): string {
  const buttons = accounts
    .map(
      (a) =>
        `<button type="submit" name="account" value="${escapeHtml(a.oid)}">${escapeHtml(a.username)}</button><br>`,
    )
    .join("\n");
  return page(
    "Pick an account",
    `<h1>Pick an account</h1>
<form method="post" action="${escapeHtml(action)}">
${hidden({ ...fields, action: "choose" })}
${buttons}
<button type="submit" name="account" value="" id="another">Use another account</button>
</form>`,
  );
}

export function consentPage(
  action: string,
  fields: Record<string, string>,
  appName: string,
  username: string,
  permissions: string[],
): string {
  return page(
    "Permissions requested",
    `<h1>Permissions requested</h1>
<p><b>${escapeHtml(appName)}</b> wants to access your account <b>${escapeHtml(username)}</b>.</p>
<form method="post" action="${escapeHtml(action)}">
${hidden(fields)}
${permissionList(permissions)}
<button type="submit" name="action" value="consent" id="accept">Accept</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
</form>`,
  );
}

export function deviceCodeEntryPage(action: string, error?: string): string {
  return page(
    "Enter code",
    `<h1>Enter code</h1>
<p>Enter the code displayed on your app or device.</p>
${error ? `<p class="error" id="error">${escapeHtml(error)}</p>` : ""}
<form method="post" action="${escapeHtml(action)}">
<input type="text" name="otc" id="otc" autocomplete="off" placeholder="Code">
<button type="submit" name="action" value="next" id="next">Next</button>
</form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p id="message">${escapeHtml(message)}</p>`);
}

export function errorPage(code: number, message: string, correlationId: string): string {
  return page(
    "Sorry, but we're having trouble signing you in.",
    `<h1>Sorry, but we're having trouble signing you in.</h1>
<p class="error" id="error">AADSTS${code}: ${escapeHtml(message)}</p>
<p class="muted">Correlation ID: ${escapeHtml(correlationId)}</p>`,
  );
}

/** The `form_post` response mode: the browser posts the response to the redirect URI. */
export function formPostPage(redirectUri: string, fields: Record<string, string>): string {
  return `<!doctype html><html><head><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="${escapeHtml(redirectUri)}">
${hidden(fields)}
<noscript><button type="submit">Continue</button></noscript></form></body></html>`;
}
