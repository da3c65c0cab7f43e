// A real, certified OpenID provider (panva/oidc-provider 9.13.3) for the hub's end-to-end tests.
//
//   node tests/oidc/provider.mjs /path/to/config.json
//
// The configuration file (written by tests/node_op.rs) is JSON:
//
//   {
//     "port": 40123,                          // listens on 127.0.0.1:<port>
//     "issuer": "http://127.0.0.1:40123",     // the `iss` of every token and of discovery
//     "keys_file": "/tmp/.../jwks.json",      // a PRIVATE JWK set ({"keys":[...]}, RSA or EC P-256,
//                                             // each with kid/alg/use); the first key signs ID tokens
//     "clients": [{                           // oidc-provider client metadata (snake_case), e.g.
//       "client_id": "hub", "client_secret": "...",
//       "redirect_uris": ["http://127.0.0.1:1234/callback"],
//       "post_logout_redirect_uris": ["http://127.0.0.1:1234/signed-out"],
//       "backchannel_logout_uri": "http://127.0.0.1:1234/backchannel",   // optional
//       "backchannel_logout_session_required": true
//     }],                                     // defaults: grant_types ["authorization_code"],
//                                             // response_types ["code"], client_secret_basic, and
//                                             // id_token_signed_response_alg = the first key's alg
//     "accounts": {                           // sub -> claims
//       "user-1": { "name": "张三", "email": "zs@example.com", "email_verified": true,
//                   "phone_number": "+8613800000000", "idcard": "350802199003070029" }
//     },
//     "conform_id_token_claims": true,        // optional, default true (oidc-provider's default):
//                                             // with response_type=code the ID token carries sub, sid
//                                             // and the openid-scope (custom) claims; profile, email
//                                             // and phone claims come from userinfo only
//     "cookie_keys": ["..."]                  // optional; random when absent
//   }
//
// Features: authorization code flow with PKCE required (S256 only), the built-in development
// login/consent forms (devInteractions: any login = the account's sub, any password),
// RP-initiated logout (with its "Do you want to sign-out?" confirmation form) and back-channel
// logout. Scopes profile, email and phone release the standard claims of those scopes that the
// account has; every other claim of an account is released for scope openid. A login that is not
// in `accounts` signs in as a user with only `sub`.
//
// Prints exactly one line `READY <issuer>` on stdout once listening; errors go to stderr. Exits on
// SIGTERM or SIGINT. All state (sessions, grants, codes) is in memory and lost on exit.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node provider.mjs <config.json>');
  process.exit(2);
}

const config = JSON.parse(readFileSync(configPath, 'utf8'));
const jwks = JSON.parse(readFileSync(config.keys_file, 'utf8'));
if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) {
  console.error(`no keys in ${config.keys_file}`);
  process.exit(2);
}
const signingAlg = jwks.keys[0].alg || (jwks.keys[0].kty === 'EC' ? 'ES256' : 'RS256');

const STANDARD = {
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
    'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
};
const standardNames = new Set(Object.values(STANDARD).flat());
const PROTOCOL = new Set(['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss']);

const accounts = config.accounts || {};
const custom = new Set();
for (const claims of Object.values(accounts)) {
  for (const name of Object.keys(claims)) {
    if (!standardNames.has(name) && !PROTOCOL.has(name)) custom.add(name);
  }
}

const clients = (config.clients || []).map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: signingAlg,
  ...c,
}));

const ERROR_EVENTS = [
  'server_error', 'authorization.error', 'grant.error', 'backchannel.error', 'end_session.error',
  'userinfo.error', 'jwks.error', 'discovery.error', 'introspection.error', 'revocation.error',
  'check_session_origin.error', 'interaction.error',
];

const provider = new Provider(config.issuer, {
  clients,
  jwks,
  claims: {
    acr: null,
    sid: null,
    auth_time: null,
    iss: null,
    openid: ['sub', ...custom],
    ...STANDARD,
  },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'phone', 'address'],
  async findAccount(ctx, sub) {
    const claims = accounts[sub] || {};
    return {
      accountId: sub,
      async claims() {
        return { ...claims, sub };
      },
    };
  },
  conformIdTokenClaims: config.conform_id_token_claims !== false,
  cookies: {
    keys: config.cookie_keys || [randomBytes(32).toString('base64url')],
  },
  pkce: {
    required: () => true,
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    userinfo: { enabled: true },
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    IdToken: 3600,
    Interaction: 3600,
    Session: 3600,
    Grant: 3600,
  },
  clientBasedCORS: () => true,
  // Outgoing requests (back-channel logout) go through an SSRF guard that refuses loopback and
  // private addresses; the relying parties under test all live on 127.0.0.1, so send them with
  // the plain fetch instead.
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
});

for (const event of ERROR_EVENTS) {
  provider.on(event, (...args) => {
    const err = args.find((a) => a instanceof Error);
    // Protocol errors (4xx: the relying party's fault, often on purpose in a test) take one
    // line; anything else gets its stack.
    const detail = err?.expose
      ? `${err.message}${err.error_description ? ` (${err.error_description})` : ''}`
      : (err?.stack || String(err));
    console.error(`[oidc-provider] ${event}: ${detail}`);
  });
}

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`READY ${config.issuer}`);
});
server.on('error', (err) => {
  console.error(`[oidc-provider] cannot listen on 127.0.0.1:${config.port}: ${err.message}`);
  process.exit(1);
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
