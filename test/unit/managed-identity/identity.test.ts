/**
 * Managed identities as given: exactly one id of a user-assigned identity (a compile error for two,
 * a ManagedIdentityError that says what to do for JavaScript callers), and plain `{ idType, id }`
 * objects checked as MSAL Python checks its dicts (spec section 1.10).
 */
import { describe, expect, it } from "vitest";
import { ManagedIdentityError } from "../../../src/managed-identity/errors.js";
import {
  SystemAssignedManagedIdentity,
  type UserAssignedId,
  UserAssignedManagedIdentity,
  validateManagedIdentity,
} from "../../../src/managed-identity/identity.js";

const invalid = (run: () => unknown): ManagedIdentityError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ManagedIdentityError);
    expect((error as ManagedIdentityError).code).toBe("invalid_managed_identity");
    return error as ManagedIdentityError;
  }
  throw new Error("expected a ManagedIdentityError");
};

describe("managed identities", () => {
  it("names each kind of user-assigned id", () => {
    expect(new UserAssignedManagedIdentity({ clientId: "c" })).toMatchObject({ idType: "ClientId", id: "c" });
    expect(new UserAssignedManagedIdentity({ objectId: "o" })).toMatchObject({ idType: "ObjectId", id: "o" });
    expect(new UserAssignedManagedIdentity({ resourceId: "/r" })).toMatchObject({
      idType: "ResourceId",
      id: "/r",
    });
    expect(new SystemAssignedManagedIdentity()).toMatchObject({ idType: "SystemAssigned", id: null });
  });

  it("refuses two ids at once (a compile error in TypeScript) and says which it got", () => {
    // @ts-expect-error two ids at once
    const two: UserAssignedId = { clientId: "c", objectId: "o" };
    const error = invalid(() => new UserAssignedManagedIdentity(two));
    expect(error.message).toContain("exactly one of clientId, objectId and resourceId");
    expect(error.message).toContain("clientId and objectId");
  });

  it("refuses no id and an empty id", () => {
    expect(invalid(() => new UserAssignedManagedIdentity({} as UserAssignedId)).message).toContain("none");
    expect(invalid(() => new UserAssignedManagedIdentity({ clientId: " " })).message).toContain("non-empty");
    invalid(() => new UserAssignedManagedIdentity(null as unknown as UserAssignedId));
    expect(
      invalid(() => new UserAssignedManagedIdentity("abc" as unknown as UserAssignedId)).message,
    ).toContain('{ clientId: "abc" }');
  });

  it("accepts plain { idType, id } objects and refuses others", () => {
    expect(validateManagedIdentity({ idType: "ClientId", id: "c" })).toEqual({ idType: "ClientId", id: "c" });
    expect(validateManagedIdentity({ idType: "SystemAssigned" })).toEqual({
      idType: "SystemAssigned",
      id: null,
    });
    invalid(() => validateManagedIdentity({ foo: "bar" }));
    invalid(() => validateManagedIdentity({ idType: "undefined", id: "x" }));
    invalid(() => validateManagedIdentity({ idType: "ObjectId", id: "" }));
    invalid(() => validateManagedIdentity(undefined));
  });
});
