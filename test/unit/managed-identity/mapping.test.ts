/**
 * Each source's success and error mapping (spec section 3.14), on responses as the endpoints send them.
 */
import { describe, expect, it } from "vitest";
import type { HttpResponse } from "../../../src/http/types.js";
import { appServiceError } from "../../../src/managed-identity/app-service.js";
import { arcError } from "../../../src/managed-identity/azure-arc.js";
import { cloudShellError } from "../../../src/managed-identity/cloud-shell.js";
import { imdsError } from "../../../src/managed-identity/imds.js";
import { machineLearningError } from "../../../src/managed-identity/machine-learning.js";
import { tokenFromResponse } from "../../../src/managed-identity/response.js";
import { serviceFabricError } from "../../../src/managed-identity/service-fabric.js";

const response = (status: number, body: unknown): HttpResponse => ({
  status,
  headers: {},
  body: typeof body === "string" ? body : JSON.stringify(body),
});
const NOW = 1_700_000_000;

describe("success mapping", () => {
  it("takes expires_on (number or string) as the lifetime from now, and defaults token_type", () => {
    expect(
      tokenFromResponse(
        "AppService",
        response(200, { access_token: "t", expires_on: String(NOW + 3600), resource: "r" }),
        NOW,
        {
          lifetime: "expires_on",
        },
      ),
    ).toEqual({ access_token: "t", expires_in: 3600, token_type: "Bearer", resource: "r" });
  });

  it("takes expires_in (IMDS's string) and passes refresh_in on", () => {
    expect(
      tokenFromResponse(
        "Imds",
        response(200, { access_token: "t", expires_in: "7890", token_type: "Bearer", refresh_in: 100 }),
        NOW,
        { lifetime: "expires_in" },
      ),
    ).toEqual({ access_token: "t", expires_in: 7890, token_type: "Bearer", refresh_in: 100 });
  });

  it("makes a body without token, lifetime or (Service Fabric) token_type an invalid_response", () => {
    const noToken = tokenFromResponse("Imds", response(200, { expires_in: 5 }), NOW, {
      lifetime: "expires_in",
    });
    expect(noToken).toMatchObject({ error: "invalid_response", status: 200 });
    const noType = tokenFromResponse(
      "ServiceFabric",
      response(200, { access_token: "t", expires_on: NOW + 5 }),
      NOW,
      {
        lifetime: "expires_on",
        tokenTypeRequired: true,
      },
    );
    expect(noType).toMatchObject({ error: "invalid_response" });
    expect(
      tokenFromResponse("Imds", response(502, "<html>bad gateway</html>"), NOW, { lifetime: "expires_in" }),
    ).toMatchObject({
      error: "server_error",
      status: 502,
    });
  });
});

describe("error mapping", () => {
  it("App Service: invalid_scope with '<statusCode>, <message>'", () => {
    expect(
      appServiceError(response(500, { statusCode: 500, message: "error content is undefined" })),
    ).toEqual({
      error: "invalid_scope",
      error_description: "500, error content is undefined",
      status: 500,
    });
  });

  it("Service Fabric: error.code mapped, the body as the description", () => {
    const body = {
      error: { code: "SecretHeaderNotFound", message: "Secret is not found in the request headers." },
    };
    expect(serviceFabricError(response(401, body))).toEqual({
      error: "unauthorized_client",
      error_description: JSON.stringify(body),
      status: 401,
    });
    expect(serviceFabricError(response(404, { error: { code: "ManagedIdentityNotFound" } })).error).toBe(
      "invalid_client",
    );
    expect(serviceFabricError(response(400, { error: { code: "ArgumentNullOrEmpty" } })).error).toBe(
      "invalid_scope",
    );
    expect(serviceFabricError(response(400, { error: { code: "Other" } })).error).toBe("invalid_request");
  });

  it("Machine Learning: invalid_scope with the body", () => {
    expect(machineLearningError(response(400, { error: "placeholder", message: "placeholder" }))).toEqual({
      error: "invalid_scope",
      error_description: '{"error":"placeholder","message":"placeholder"}',
      status: 400,
    });
  });

  it("IMDS: OAuth's fields as sent, others under additional_fields", () => {
    expect(
      imdsError(
        response(400, { error: "invalid_request", error_description: "Identity not found", extra: 1 }),
      ),
    ).toEqual({
      error: "invalid_request",
      error_description: "Identity not found",
      status: 400,
      additional_fields: { extra: 1 },
    });
  });

  it("Azure Arc: invalid_request with the body", () => {
    expect(arcError(response(400, { error: "x" }))).toEqual({
      error: "invalid_request",
      error_description: '{"error":"x"}',
      status: 400,
    });
  });

  it("Cloud Shell: error.code and error.message", () => {
    expect(cloudShellError(response(400, { error: { code: "BadRequest", message: "no resource" } }))).toEqual(
      {
        error: "BadRequest",
        error_description: "no resource",
        status: 400,
      },
    );
  });
});
