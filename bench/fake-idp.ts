/**
 * The in-process fake identity provider for Node peers (bench/peer_msal_python.py has the same in
 * Python): it answers discovery, instance discovery, client-credential and refresh-token requests
 * with the canned bodies of {@link FakeIdpTemplates}, counts what it was asked, and can hold each
 * answer back for a while (to make concurrent callers overlap). No sockets are involved.
 */
import type { FakeIdpTemplates } from "./fixtures.js";

export interface FakeAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface FakeCounts {
  discovery: number;
  instanceDiscovery: number;
  clientCredential: number;
  refresh: number;
  other: number;
}

const HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store, no-cache",
  "x-ms-request-id": "bench",
};

export class FakeIdp {
  counts: FakeCounts = { discovery: 0, instanceDiscovery: 0, clientCredential: 0, refresh: 0, other: 0 };
  /** Milliseconds each answer is held back; 0 answers at once. */
  delayMs = 0;

  constructor(private readonly t: FakeIdpTemplates) {}

  get tokenRequests(): number {
    return this.counts.clientCredential + this.counts.refresh;
  }

  resetCounts(): void {
    this.counts = { discovery: 0, instanceDiscovery: 0, clientCredential: 0, refresh: 0, other: 0 };
  }

  answer(method: string, url: string, body: string | undefined): FakeAnswer {
    const parsed = new URL(url);
    const [tenant = "", ...rest] = parsed.pathname.split("/").filter(Boolean);
    const path = rest.join("/");
    if (method === "GET" && path === "v2.0/.well-known/openid-configuration") {
      this.counts.discovery++;
      return this.#ok(this.t.discovery.replaceAll("{tenant}", tenant));
    }
    if (method === "GET" && path === "discovery/instance") {
      this.counts.instanceDiscovery++;
      const endpoint = parsed.searchParams.get("authorization_endpoint") ?? "";
      const named = new URL(endpoint, "https://x/").pathname.split("/").filter(Boolean)[0] ?? "common";
      return this.#ok(this.t.instanceDiscovery.replaceAll("{tenant}", named));
    }
    if (method === "POST" && path === "oauth2/v2.0/token") {
      const form = new URLSearchParams(body ?? "");
      const grant = form.get("grant_type");
      if (grant === "client_credentials") {
        this.counts.clientCredential++;
        return this.#ok(this.t.clientCredential);
      }
      const uid = /^bench-rt\|([^|]+)\|/.exec(form.get("refresh_token") ?? "")?.[1];
      if (grant === "refresh_token" && uid) {
        this.counts.refresh++;
        const claims = Buffer.from(this.t.idTokenClaims.replaceAll("{uid}", uid)).toString("base64url");
        const idToken = `${this.t.idTokenHeader}.${claims}.${this.t.idTokenSignature}`;
        const clientInfo = Buffer.from(this.t.clientInfo.replaceAll("{uid}", uid)).toString("base64url");
        return this.#ok(
          this.t.refresh
            .replaceAll("{uid}", uid)
            .replace("{id_token}", idToken)
            .replace("{client_info}", clientInfo),
        );
      }
    }
    this.counts.other++;
    return { status: 400, headers: { ...HEADERS }, body: this.t.badRequest };
  }

  #ok(body: string): FakeAnswer {
    return { status: 200, headers: { ...HEADERS }, body };
  }

  async #answerLater(method: string, url: string, body: string | undefined): Promise<FakeAnswer> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return this.answer(method, url, body);
  }

  /** msal-ts's injection point: a fetch-compatible function. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const body = typeof init?.body === "string" ? init.body : undefined;
    const answer = await this.#answerLater(init?.method ?? "GET", url, body);
    return new Response(answer.body, { status: answer.status, headers: answer.headers });
  };

  /**
   * msal-node's injection point (`system.networkClient`): its own client parses the JSON body, so
   * this one does too.
   */
  readonly networkClient = {
    sendGetRequestAsync: async <T>(
      url: string,
    ): Promise<{ headers: Record<string, string>; body: T; status: number }> => {
      const answer = await this.#answerLater("GET", url, undefined);
      return { headers: answer.headers, body: JSON.parse(answer.body) as T, status: answer.status };
    },
    sendPostRequestAsync: async <T>(
      url: string,
      options?: { body?: string },
    ): Promise<{ headers: Record<string, string>; body: T; status: number }> => {
      const answer = await this.#answerLater("POST", url, options?.body);
      return { headers: answer.headers, body: JSON.parse(answer.body) as T, status: answer.status };
    },
  };
}
