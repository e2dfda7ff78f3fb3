// A throwaway OpenID Provider for SlugBase's OIDC tests, built on the npm package `oidc-provider`
// (a certified OpenID Provider implementation). See notes.md for the full description.
//
// Environment:
//   CLIENT_ID, CLIENT_SECRET   the one static confidential client (required)
//   REDIRECT_URIS              comma-separated redirect URIs of that client (required)
//   PORT                       listen port on HOST; 0 (default) = any free port
//   HOST                       listen/issuer host, default 127.0.0.1
//   ACCOUNTS                   JSON {"<login name>": {<claims>}, ...}; see DEFAULT_ACCOUNTS below.
//                              Keys: "sub" (default: the login name), "password" (optional; if set
//                              the form's password must match), everything else is a claim.
//   TOKEN_AUTH_METHOD          client_secret_basic (default) | client_secret_post: the client's
//                              registered method (oidc-provider accepts either of the two anyway)
//   ID_TOKEN_CLAIMS            full (default): the ID token carries the scope's claims too
//                              minimal: standard behaviour, ID token has only sub + protocol claims,
//                              the profile/email/groups claims only come from userinfo
//   SSO                        0 (default): every authorization request shows the login form
//                              1: an existing provider session is reused (no form on the 2nd login)
//   CONTROL                    1: enable POST /_test/accounts (merge JSON into ACCOUNTS at run time)
//   ANY_PORT                   1: register the client as application_type "native", so that (RFC 8252
//                              7.3) a loopback redirect URI (http://127.0.0.1|localhost|[::1]) matches
//                              on any port: one provider can serve several servers under test
//
// stdout: exactly one line, `READY {"issuer":"http://127.0.0.1:PORT","port":PORT}`, once listening.
// stderr: one line per login/abort/token event (login name and sub only; never secrets or tokens).
// SIGTERM/SIGINT: closes the listener and exits 0.

import http from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { interactionPolicy } from 'oidc-provider';

function fail(msg) {
  process.stderr.write(`provider.mjs: ${msg}\n`);
  process.exit(2);
}

const HOST = process.env.HOST || '127.0.0.1';
const PORT = Number.parseInt(process.env.PORT || '0', 10);
const CLIENT_ID = process.env.CLIENT_ID;
const CLIENT_SECRET = process.env.CLIENT_SECRET;
const REDIRECT_URIS = (process.env.REDIRECT_URIS || '').split(',').map((s) => s.trim()).filter(Boolean);
const TOKEN_AUTH_METHOD = process.env.TOKEN_AUTH_METHOD || 'client_secret_basic';
const ID_TOKEN_CLAIMS = process.env.ID_TOKEN_CLAIMS || 'full';
const SSO = process.env.SSO === '1';
const CONTROL = process.env.CONTROL === '1';
const ANY_PORT = process.env.ANY_PORT === '1';

if (!CLIENT_ID || !CLIENT_SECRET || REDIRECT_URIS.length === 0) {
  fail('CLIENT_ID, CLIENT_SECRET and REDIRECT_URIS are required');
}
if (!['client_secret_basic', 'client_secret_post'].includes(TOKEN_AUTH_METHOD)) {
  fail('TOKEN_AUTH_METHOD must be client_secret_basic or client_secret_post');
}
if (!['full', 'minimal'].includes(ID_TOKEN_CLAIMS)) fail('ID_TOKEN_CLAIMS must be full or minimal');
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) fail('PORT must be 0..65535');

const DEFAULT_ACCOUNTS = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Example', preferred_username: 'alice', groups: ['eng', 'ops'] },
  mallory: { email: 'mallory@example.com', email_verified: false, name: 'Mallory Unverified', preferred_username: 'mallory', groups: [] },
};

let accounts;
try {
  accounts = process.env.ACCOUNTS ? JSON.parse(process.env.ACCOUNTS) : DEFAULT_ACCOUNTS;
} catch (e) {
  fail(`ACCOUNTS is not valid JSON: ${e.message}`);
}
if (typeof accounts !== 'object' || accounts === null || Array.isArray(accounts)) {
  fail('ACCOUNTS must be a JSON object {"login": {claims}}');
}

// Standard claims by scope (OIDC Core 5.4). Any other claim found in ACCOUNTS (except `groups`,
// which has its own scope) is released with the `openid` scope, i.e. always, like an IdP mapper.
const PROFILE = ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
  'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'];
const EMAIL = ['email', 'email_verified'];
const RESERVED = new Set(['sub', 'password', 'groups', ...PROFILE, ...EMAIL,
  'iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'auth_time', 'acr', 'amr', 'azp', 'at_hash', 'c_hash', 'sid', 'jti']);
const custom = new Set();
for (const a of Object.values(accounts)) for (const k of Object.keys(a || {})) if (!RESERVED.has(k)) custom.add(k);

function subOf(login) {
  const a = accounts[login];
  return a && (a.sub !== undefined ? String(a.sub) : login);
}
// Several login names may share one `sub` (e.g. to change a user's claims between two logins):
// the claims are those of the login name used most recently for that sub.
const lastLogin = new Map();
function accountBySub(sub) {
  const recent = lastLogin.get(sub);
  if (recent !== undefined && subOf(recent) === sub) return accounts[recent];
  for (const login of Object.keys(accounts)) if (subOf(login) === sub) return accounts[login];
  return undefined;
}

// RS256 signing key, made fresh at every start.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `k-${randomBytes(6).toString('hex')}`, use: 'sig', alg: 'RS256' };

// Login prompt: with SSO off, always ask, except when resuming after our own login form.
const policy = interactionPolicy.base();
if (!SSO) {
  policy.get('login').checks.add(new interactionPolicy.Check('always_login', 'login form on every request',
    (ctx) => (ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT
      : interactionPolicy.Check.REQUEST_PROMPT)));
}

// A native client normally gets a consent screen on every login (RFC 8252 advice); not here.
if (ANY_PORT) policy.get('consent').checks.remove('native_client_prompt');

const server = http.createServer();
server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const hostPart = HOST.includes(':') ? `[${HOST}]` : HOST;
  const issuer = `http://${hostPart}:${port}`;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: REDIRECT_URIS,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: TOKEN_AUTH_METHOD,
      id_token_signed_response_alg: 'RS256',
      ...(ANY_PORT ? { application_type: 'native' } : {}),
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub', ...custom],
      email: EMAIL,
      profile: PROFILE,
      groups: ['groups'],
    },
    conformIdTokenClaims: ID_TOKEN_CLAIMS === 'minimal',
    responseTypes: ['code'],
    pkce: { required: () => true }, // S256 is the only method offered (the default)
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: false },
      introspection: { enabled: false },
    },
    interactions: {
      policy,
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // Consent is granted automatically: every authorization gets a fresh grant with the requested
    // OpenID scopes (and any claims requested through the `claims` parameter).
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.account.accountId,
      });
      grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
      const requested = ctx.oidc.claims || {};
      const names = [...Object.keys(requested.id_token || {}), ...Object.keys(requested.userinfo || {})];
      if (names.length) grant.addOIDCClaims(names);
      await grant.save();
      return grant;
    },
    async findAccount(ctx, sub) {
      const a = accountBySub(sub);
      if (!a) return undefined;
      return {
        accountId: sub,
        async claims() {
          const { sub: _s, password: _p, ...claims } = a;
          return { ...claims, sub };
        },
      };
    },
    ttl: { Interaction: 600, Session: 600, Grant: 600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>Error</h1><p id="error">${esc(out.error)}: ${esc(out.error_description || '')}</p>`);
    },
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.message}\n`));
  provider.on('grant.success', (ctx) => process.stderr.write(`token issued (client ${ctx.oidc.client?.clientId})\n`));

  // SSO=0: a new authorization request never sees an existing provider session (otherwise a login
  // as another account would first need the provider's logout confirmation page).
  if (!SSO) {
    provider.use(async (ctx, next) => {
      if ((ctx.path === '/auth' || ctx.path.startsWith('/auth/')) && ctx.headers.cookie) {
        ctx.headers.cookie = ctx.headers.cookie.split(/;\s*/)
          .filter((c) => !/^_session(\.legacy)?(\.sig)?=/.test(c)).join('; ');
      }
      return next();
    });
  }

  // Interaction pages: GET  /interaction/:uid         -> login form
  //                    POST /interaction/:uid/login   -> username (+ password) -> back to /auth/:uid
  //                    GET  /interaction/:uid/abort   -> error=access_denied to the client
  //                    POST /_test/accounts           -> (CONTROL=1) merge accounts
  provider.use(async (ctx, next) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/.exec(ctx.path);
    if (CONTROL && ctx.path === '/_test/accounts' && ctx.method === 'POST') {
      const body = JSON.parse((await readBody(ctx.req)) || '{}');
      Object.assign(accounts, body);
      for (const a of Object.values(body)) for (const k of Object.keys(a || {})) if (!RESERVED.has(k) && !custom.has(k)) {
        process.stderr.write(`warning: claim "${k}" is new; it is only released if it was known at start\n`);
      }
      ctx.status = 204;
      return undefined;
    }
    if (!m) return next();
    ctx.set('cache-control', 'no-store');
    const [, uid, action] = m;
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (e) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page('Error', '<h1>Error</h1><p id="error">interaction expired or cookie missing</p>');
      return undefined;
    }
    if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
    if (!action && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = loginPage(uid, details.params, '');
      return undefined;
    }
    if (action === 'abort' && ctx.method === 'GET') {
      process.stderr.write('login aborted\n');
      return provider.interactionFinished(ctx.req, ctx.res,
        { error: 'access_denied', error_description: 'End-User aborted interaction' },
        { mergeWithLastSubmission: false });
    }
    if (action === 'login' && ctx.method === 'POST') {
      const form = new URLSearchParams(await readBody(ctx.req));
      const login = (form.get('username') || '').trim();
      const a = Object.prototype.hasOwnProperty.call(accounts, login) ? accounts[login] : undefined;
      if (!a || (a.password !== undefined && form.get('password') !== String(a.password))) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = loginPage(uid, details.params, 'Unknown account or wrong password');
        return undefined;
      }
      process.stderr.write(`login ${JSON.stringify(login)} sub=${JSON.stringify(subOf(login))}\n`);
      lastLogin.set(subOf(login), login);
      return provider.interactionFinished(ctx.req, ctx.res,
        { login: { accountId: subOf(login) } }, { mergeWithLastSubmission: false });
    }
    ctx.throw(405);
    return undefined;
  });

  server.on('request', provider.callback());
  process.stdout.write(`READY ${JSON.stringify({ issuer, port })}\n`);
});
server.on('error', (e) => fail(`listen: ${e.message}`));

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > 65536) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>${body}</body></html>`;
}

function loginPage(uid, params, error) {
  return page('Sign in - test provider', `
<h1>Sign in to the test provider</h1>
<p>Client: <code id="client">${esc(params.client_id)}</code>, scope: <code id="scope">${esc(params.scope)}</code></p>
${error ? `<p id="error" role="alert">${esc(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
  <label for="username">Username</label> <input id="username" name="username" autofocus required>
  <label for="password">Password</label> <input id="password" name="password" type="password">
  <button id="submit" type="submit">Sign in</button>
</form>
<p><a id="abort" href="/interaction/${esc(uid)}/abort">Cancel</a></p>`);
}

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
