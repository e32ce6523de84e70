// A certified OpenID provider (oidc-provider, npm, exact version in scripts/fetch-oidc-provider)
// for the standalone-launch test. Configured from the OIDC_TEST_CONFIG environment variable.
// Two clients: the public one (PKCE, id_tokens signed RS256) and, when configured, a confidential
// one that authenticates with private_key_jwt (RS384, the app's published JWKS registered by
// value: oidc-provider refuses to fetch a jwks_uri on loopback) and gets
// ES256 id_tokens. Every token response is logged as one "token-issued {json}" line naming the
// client, its authentication method, the client assertion's alg and the id_token's alg, for
// the test to check what really went over the wire.
import Provider from "oidc-provider";

const config = JSON.parse(process.env.OIDC_TEST_CONFIG);
const accounts = {
  "casey": { sub: "casey", fhirUser: config.fhirUser, name: "Casey Coordinator" },
};
const grantTypes = config.refresh ? ["authorization_code", "refresh_token"] : ["authorization_code"];
const clients = [{
  client_id: config.clientId,
  token_endpoint_auth_method: "none",
  redirect_uris: [config.redirectUri],
  grant_types: grantTypes,
  response_types: ["code"],
  id_token_signed_response_alg: config.alg || "RS256",
}];
if (config.jwtClient) {
  clients.push({
    client_id: config.jwtClient.clientId,
    token_endpoint_auth_method: "private_key_jwt",
    token_endpoint_auth_signing_alg: "RS384",
    jwks: config.jwtClient.jwks,
    redirect_uris: [config.jwtClient.redirectUri],
    grant_types: grantTypes,
    response_types: ["code"],
    id_token_signed_response_alg: "ES256",
  });
}
const provider = new Provider(config.issuer, {
  clients,
  jwks: { keys: config.keys },
  enabledJWA: {
    clientAuthSigningAlgValues: ["RS256", "RS384", "PS256", "ES256"],
    idTokenSigningAlgValues: ["RS256", "ES256"],
  },
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
const headerAlg = (jwt) => (jwt ? JSON.parse(Buffer.from(jwt.split(".")[0], "base64url")).alg : null);
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === "/token" && ctx.status === 200 && ctx.oidc && ctx.oidc.client) {
    console.log("token-issued " + JSON.stringify({
      client: ctx.oidc.client.clientId,
      grant: ctx.oidc.params.grant_type,
      auth: ctx.oidc.client.tokenEndpointAuthMethod,
      assertionAlg: headerAlg(ctx.oidc.params.client_assertion),
      idTokenAlg: headerAlg(ctx.body && ctx.body.id_token),
    }));
  }
});
provider.on("server_error", (ctx, err) => console.error("server_error", err));
provider.on("grant.error", (ctx, err) => { let c = err; const chain = []; while (c) { chain.push(c.error_description || c.message || String(c)); c = c.cause; } console.log("grant-error", err.error, chain.join(" <- ")); });
provider.listen(config.port, "127.0.0.1", () => console.log("ready"));
