/**
 * What a person does on the emulator's sign-in page, done over plain HTTP: open the page, fill in
 * the form, submit it, and read where the emulator redirects the browser.
 */

export interface SignInForm {
  action: string;
  fields: Record<string, string>;
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match?.[1]?.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

/** Reads the first form of an emulator page: its action and hidden fields. */
export function parseForm(html: string): SignInForm {
  const form = /<form\b[^>]*>/.exec(html)?.[0];
  const action = form && attribute(form, "action");
  if (!action) throw new Error(`The page has no form:\n${html.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const [input] of html.matchAll(/<input\b[^>]*>/g)) {
    const name = attribute(input, "name");
    if (name && attribute(input, "type") === "hidden") fields[name] = attribute(input, "value") ?? "";
  }
  return { action, fields };
}

export interface SignInResult {
  /** The redirect the emulator sent the browser to (the app's redirect URI with the response). */
  location: string;
  params: URLSearchParams;
}

/** Opens `authorizeUrl`, signs in as `username`, and returns the authorization response. */
export async function signInOverHttp(
  authorizeUrl: string,
  username: string,
  password: string,
): Promise<SignInResult> {
  const page = await fetch(authorizeUrl, { redirect: "manual" });
  if (page.status !== 200) throw new Error(`The sign-in page answered ${page.status}: ${await page.text()}`);
  const form = parseForm(await page.text());
  const answer = await fetch(form.action, {
    method: "POST",
    redirect: "manual",
    body: new URLSearchParams({ ...form.fields, username, password, action: "signin" }),
  });
  const location = answer.headers.get("location");
  if (answer.status !== 302 || !location)
    throw new Error(`Expected a redirect after sign-in, got ${answer.status}: ${await answer.text()}`);
  const url = new URL(location);
  return { location, params: new URLSearchParams(url.hash ? url.hash.slice(1) : url.search) };
}
