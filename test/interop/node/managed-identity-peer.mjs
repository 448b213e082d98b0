/**
 * Runs a real managed-identity client, @azure/msal-node's ManagedIdentityApplication or
 * @azure/identity's ManagedIdentityCredential, in a process of its own whose environment is what a
 * host would set (test/interop/managed-identity-peers.test.ts starts it). Reads one JSON argument
 * `{ peer, asks: [{ label, resource, id?: { clientId | objectId | resourceId }, claims?, capabilities? }] }`
 * and prints one JSON line `{ source, results: [{ label, accessToken, expiresOn, fromCache } | { label, error }] }`.
 */
import { ManagedIdentityCredential } from "@azure/identity";
import { ManagedIdentityApplication } from "@azure/msal-node";

const { peer, asks } = JSON.parse(process.argv[2] ?? "{}");

function msalNodeIdParams(id) {
  if (!id) return {};
  if (id.clientId) return { userAssignedClientId: id.clientId };
  if (id.objectId) return { userAssignedObjectId: id.objectId };
  return { userAssignedResourceId: id.resourceId };
}

function describeError(err) {
  return { name: err?.name, message: String(err?.message ?? err), errorCode: err?.errorCode };
}

async function withMsalNode(ask) {
  const app = new ManagedIdentityApplication({
    managedIdentityIdParams: msalNodeIdParams(ask.id),
    ...(ask.capabilities ? { clientCapabilities: ask.capabilities } : {}),
  });
  const result = await app.acquireToken({
    resource: ask.resource,
    ...(ask.claims ? { claims: ask.claims } : {}),
  });
  return {
    accessToken: result.accessToken,
    expiresOn: result.expiresOn?.getTime(),
    refreshOn: result.refreshOn?.getTime(),
    fromCache: result.fromCache,
    source: app.getManagedIdentitySource(),
  };
}

async function withAzureIdentity(ask) {
  const credential = new ManagedIdentityCredential(ask.id ?? {});
  const token = await credential.getToken(`${ask.resource.replace(/\/$/, "")}/.default`);
  return { accessToken: token.token, expiresOn: token.expiresOnTimestamp };
}

const results = [];
for (const ask of asks) {
  try {
    const got = peer === "msal-node" ? await withMsalNode(ask) : await withAzureIdentity(ask);
    results.push({ label: ask.label, ...got });
  } catch (err) {
    results.push({ label: ask.label, error: describeError(err) });
  }
}
process.stdout.write(`${JSON.stringify({ results })}\n`);
