// A certified OpenID provider (oidc-provider, npm, exact version in scripts/fetch-oidc-provider)
// for the standalone-launch test. Configured from the OIDC_TEST_CONFIG environment variable.
import Provider from "oidc-provider";

const config = JSON.parse(process.env.OIDC_TEST_CONFIG);
const accounts = {
  "casey": { sub: "casey", fhirUser: config.fhirUser, name: "Casey Coordinator" },
};
const provider = new Provider(config.issuer, {
  clients: [{
    client_id: config.clientId,
    token_endpoint_auth_method: "none",
    redirect_uris: [config.redirectUri],
    grant_types: config.refresh ? ["authorization_code", "refresh_token"] : ["authorization_code"],
    response_types: ["code"],
    id_token_signed_response_alg: config.alg || "RS256",
  }],
  jwks: { keys: config.keys },
  pkce: { required: () => true },
  scopes: ["openid", "offline_access", "fhirUser", "profile"],
  claims: { openid: ["sub"], fhirUser: ["fhirUser"], profile: ["name"] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => accounts[id] || { sub: id } }),
  features: { devInteractions: { enabled: true }, revocation: { enabled: true }, userinfo: { enabled: true } },
  ttl: { AccessToken: config.accessTokenTtl || 60, IdToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
  issueRefreshToken: async (ctx, client, code) =>
    config.refresh && client.grantTypeAllowed("refresh_token") && code.scopes.has("offline_access"),
  extraParams: ["aud", "launch"],
});
provider.proxy = false;
provider.on("server_error", (ctx, err) => console.error("server_error", err));
provider.listen(config.port, "127.0.0.1", () => console.log("ready"));
