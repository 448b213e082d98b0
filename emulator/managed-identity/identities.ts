/**
 * The managed identities the emulator knows: one system-assigned identity per host (each source is a
 * different kind of Azure resource, so each has its own) and user-assigned identities that every
 * host which supports them has attached. Ids are derived from names, so they are the same in every
 * run and tests can hard-code them if they like.
 * https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/overview
 */
import { stableGuid } from "../world.js";

/** The hosts the emulator plays, named as `startEmulator({ managedIdentity })` names them. */
export type ManagedIdentitySource =
  | "appService"
  | "serviceFabric"
  | "azureArc"
  | "cloudShell"
  | "machineLearning"
  | "imds";

/** Every {@link ManagedIdentitySource}. */
/** Every source, in the order clients detect them. */
export const MANAGED_IDENTITY_SOURCES: readonly ManagedIdentitySource[] = [
  "appService",
  "serviceFabric",
  "azureArc",
  "cloudShell",
  "machineLearning",
  "imds",
];

/** One managed identity: a service principal that Azure manages for a resource. */
export interface ManagedIdentityRecord {
  /** A name for people; the last segment of `resourceId`. */
  name: string;
  /** The identity's application (client) id: the token's `appid`. */
  clientId: string;
  /** The service principal's object (principal) id: the token's `oid` and `sub`. */
  objectId: string;
  /** The Azure resource id: the token's `xms_mirid`. */
  resourceId: string;
}

/**
 * The managed identities the emulator serves: one system-assigned identity per host, and user-assigned ones.
 */
export interface ManagedIdentityCatalog {
  /** The system-assigned identity of each host; Cloud Shell has none (it hands out the user's tokens). */
  systemAssigned: Record<Exclude<ManagedIdentitySource, "cloudShell">, ManagedIdentityRecord>;
  /** User-assigned identities, attached to every host that supports them. */
  userAssigned: ManagedIdentityRecord[];
}

export const EMULATOR_SUBSCRIPTION_ID = stableGuid("subscription:msal-ts-emulator");
const RESOURCE_GROUP = `/subscriptions/${EMULATOR_SUBSCRIPTION_ID}/resourcegroups/msal-ts-emulator/providers`;

function identity(name: string, resourceId: string): ManagedIdentityRecord {
  return {
    name,
    clientId: stableGuid(`managed-identity-client:${resourceId}`),
    objectId: stableGuid(`managed-identity-object:${resourceId}`),
    resourceId,
  };
}

/** A user-assigned identity with the emulator's subscription and resource group, named `name`. */
export function userAssignedIdentity(name: string): ManagedIdentityRecord {
  return identity(name, `${RESOURCE_GROUP}/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`);
}

/**
 * The seeded identities: a system-assigned one per host and two user-assigned ones, with ids derived from
 * their names (the same in every run).
 */
/**
 * The identities a new emulator serves: a system-assigned identity per host and two user-assigned
 * ones, `emulator-identity-one` and `emulator-identity-two`.
 *
 * @example
 * ```ts
 * import { seedManagedIdentities, startEmulator, userAssignedIdentity } from "msal-ts/emulator";
 *
 * const seeded = seedManagedIdentities();
 * const identities = { ...seeded, userAssigned: [...seeded.userAssigned, userAssignedIdentity("mine")] };
 * const emulator = await startEmulator({ managedIdentity: { identities } });
 * await emulator.stop();
 * ```
 */
export function seedManagedIdentities(): ManagedIdentityCatalog {
  return {
    systemAssigned: {
      appService: identity("emulator-web-app", `${RESOURCE_GROUP}/Microsoft.Web/sites/emulator-web-app`),
      serviceFabric: identity(
        "emulator-sf-app",
        `${RESOURCE_GROUP}/Microsoft.ServiceFabric/managedclusters/emulator-cluster/applications/emulator-sf-app`,
      ),
      azureArc: identity(
        "emulator-arc-server",
        `${RESOURCE_GROUP}/Microsoft.HybridCompute/machines/emulator-arc-server`,
      ),
      machineLearning: identity(
        "emulator-compute",
        `${RESOURCE_GROUP}/Microsoft.MachineLearningServices/workspaces/emulator-workspace/computes/emulator-compute`,
      ),
      imds: identity("emulator-vm", `${RESOURCE_GROUP}/Microsoft.Compute/virtualMachines/emulator-vm`),
    },
    userAssigned: [
      userAssignedIdentity("emulator-identity-one"),
      userAssignedIdentity("emulator-identity-two"),
    ],
  };
}

/** How a request names a user-assigned identity. */
export type IdentitySelector = { kind: "clientId" | "objectId" | "resourceId"; id: string };

/**
 * The user-assigned identity a selector names, or `undefined`. Ids are GUIDs and ARM resource ids,
 * both compared without regard to case, as Azure compares them.
 */
export function findUserAssigned(
  catalog: ManagedIdentityCatalog,
  selector: IdentitySelector,
): ManagedIdentityRecord | undefined {
  const wanted = selector.id.toLowerCase();
  return catalog.userAssigned.find((mi) => mi[selector.kind].toLowerCase() === wanted);
}

/**
 * The identity selector in a request's query, read with the parameter names this source uses (they
 * differ: `mi_res_id` on App Service, `msi_res_id` on IMDS, `clientid` on Machine Learning...).
 * Returns `"ambiguous"` when more than one is given: no source accepts that.
 */
export function selectorFrom(
  query: URLSearchParams,
  names: Partial<Record<IdentitySelector["kind"], readonly string[]>>,
): IdentitySelector | "ambiguous" | undefined {
  const found: IdentitySelector[] = [];
  for (const [kind, params] of Object.entries(names) as Array<
    [IdentitySelector["kind"], readonly string[]]
  >) {
    for (const param of params) {
      const id = query.get(param);
      if (id) found.push({ kind, id });
    }
  }
  if (found.length > 1) return "ambiguous";
  return found[0];
}
