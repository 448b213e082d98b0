/**
 * Which managed identity a client uses: the resource's own (system-assigned) or one assigned to it
 * by client id, object (principal) id or Azure resource id (spec section 1.10).
 */
import { ManagedIdentityError } from "./errors.js";

/** How an identity is named: `SystemAssigned`, or the kind of id a user-assigned one is given by. */
export type ManagedIdentityIdType = "SystemAssigned" | "ClientId" | "ObjectId" | "ResourceId";

/** A managed identity as {@link ManagedIdentityClient} takes it. */
export interface ManagedIdentity {
  /** Which identity: the system-assigned one, or the kind of id naming a user-assigned one. */
  readonly idType: ManagedIdentityIdType;
  /** The user-assigned identity's id; `null` for the system-assigned one. */
  readonly id: string | null;
}

/**
 * The identity Azure gives the resource itself (the VM, the App Service app, the Arc server).
 *
 * @example
 * ```ts
 * const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity());
 * ```
 */
export class SystemAssignedManagedIdentity implements ManagedIdentity {
  /** Always `SystemAssigned`. */
  readonly idType = "SystemAssigned" as const;
  readonly id = null;
}

/**
 * Exactly one of the ids of a user-assigned identity. The `never` members make two at once a
 * compile error.
 */
export type UserAssignedId =
  | {
      /** The identity's client (application) id. */
      clientId: string;
      /** Give one id only. */
      objectId?: never;
      /** Give one id only. */
      resourceId?: never;
    }
  | {
      /** The identity's object (principal) id. */
      objectId: string;
      /** Give one id only. */
      clientId?: never;
      /** Give one id only. */
      resourceId?: never;
    }
  | {
      /** The identity's Azure resource id (`/subscriptions/.../userAssignedIdentities/<name>`). */
      resourceId: string;
      /** Give one id only. */
      clientId?: never;
      /** Give one id only. */
      objectId?: never;
    };

const ID_TYPES = { clientId: "ClientId", objectId: "ObjectId", resourceId: "ResourceId" } as const;

/**
 * An identity created on its own in Azure and assigned to the resource, named by exactly one of
 * its client id, object (principal) id or Azure resource id. Throws {@link ManagedIdentityError}
 * (`invalid_managed_identity`) when none or more than one is given, or the one given is empty.
 *
 * @example
 * ```ts
 * const byClientId = new UserAssignedManagedIdentity({ clientId: "9f1c2d3e-0000-4000-8000-000000000001" });
 * const byResourceId = new UserAssignedManagedIdentity({
 *   resourceId: "/subscriptions/.../resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/my-id",
 * });
 * ```
 */
export class UserAssignedManagedIdentity implements ManagedIdentity {
  /** The kind of id the identity was given by. */
  readonly idType: Exclude<ManagedIdentityIdType, "SystemAssigned">;
  readonly id: string;

  constructor(id: UserAssignedId) {
    if (typeof id === "string") {
      throw new ManagedIdentityError(
        "invalid_managed_identity",
        `UserAssignedManagedIdentity takes an object naming the kind of id: new UserAssignedManagedIdentity({ clientId: ${JSON.stringify(id)} }) (or { objectId }, or { resourceId }).`,
      );
    }
    const given = Object.entries(ID_TYPES).filter(
      ([name]) => (id as Record<string, unknown> | null)?.[name] !== undefined,
    );
    if (given.length !== 1) {
      throw new ManagedIdentityError(
        "invalid_managed_identity",
        `UserAssignedManagedIdentity takes exactly one of clientId, objectId and resourceId, and was given ${given.length === 0 ? "none" : given.map(([name]) => name).join(" and ")}. Pass the one id you have, e.g. new UserAssignedManagedIdentity({ clientId }); for the resource's own identity use new SystemAssignedManagedIdentity().`,
      );
    }
    const [name, idType] = given[0] as [keyof typeof ID_TYPES, (typeof ID_TYPES)[keyof typeof ID_TYPES]];
    const value = (id as Record<string, unknown>)[name];
    if (typeof value !== "string" || value.trim() === "") {
      throw new ManagedIdentityError(
        "invalid_managed_identity",
        `UserAssignedManagedIdentity's ${name} must be a non-empty string. Copy it from the identity's page in the Azure portal (or \`az identity show\`).`,
      );
    }
    this.idType = idType;
    this.id = value;
  }
}

/**
 * Checks an identity given by a JavaScript caller or built by hand (`{ idType, id }`), as MSAL
 * Python accepts a plain dict: system-assigned, or one of the three user-assigned kinds with an id.
 */
export function validateManagedIdentity(identity: unknown): ManagedIdentity {
  const candidate = identity as Partial<ManagedIdentity> | null | undefined;
  const idType = candidate?.idType;
  if (idType === "SystemAssigned") return { idType, id: null };
  if (
    (idType === "ClientId" || idType === "ObjectId" || idType === "ResourceId") &&
    typeof candidate?.id === "string" &&
    candidate.id.trim() !== ""
  ) {
    return { idType, id: candidate.id };
  }
  throw new ManagedIdentityError(
    "invalid_managed_identity",
    "ManagedIdentityClient needs a managed identity: new SystemAssignedManagedIdentity(), or new UserAssignedManagedIdentity({ clientId }) (or { objectId }, or { resourceId }).",
  );
}
