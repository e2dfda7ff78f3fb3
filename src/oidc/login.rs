//! The sign-in: [`start`] sends the browser to the provider (authorization code flow with PKCE,
//! a `state` and a `nonce` kept in the encrypted login-state cookie); [`finish`] takes the
//! provider's answer at the callback, exchanges the code, checks the ID token (signature against
//! the provider's keys, issuer, audience, expiry, nonce), reads userinfo, finds or creates the
//! account, applies the group mapping, and opens a session — or stops at the MFA step.
//!
//! Whatever goes wrong at the callback ends as a [`Failure`] (the browser goes back to the
//! sign-in page with its code), never as an error page; only an unknown provider is a 404.

use std::collections::HashMap;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClientAuthMethod, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthType, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenClaims,
    IdTokenFields, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
    TokenResponse, UserInfoClaims,
};
use openidconnect::{ClaimsVerificationError, UserInfoError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::accounts::{self, Identity, Resolved};
use super::discovery::{self, Metadata};
use super::login_state::{self, LoginState};
use super::net::{describe, NetError, OidcHttp};
use super::providers::{self, callback_url, ProviderRow};
use super::{Failure, Oidc};
use crate::audit::{self, Origin};
use crate::auth::{jwt, open_session, SignIn};
use crate::config::Config;
use crate::crypto::Cipher;
use crate::db::Db;
use crate::error::{off_thread, Error, Result};
use crate::{settings, teams, users};

/// Every claim beyond the standard ones (the group claim's name is a provider setting).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OtherClaims(pub HashMap<String, Value>);
impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenAnswer = StandardTokenResponse<IdFields, CoreTokenType>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenAnswer,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

fn unknown_provider() -> Error {
    Error::not_found("Not found")
}

/// A local path to return to (never another origin).
fn local_path(target: Option<&str>) -> String {
    match target {
        Some(t) if t.starts_with('/') && !t.starts_with("//") && !t.starts_with("/\\") => t.to_string(),
        _ => "/".to_string(),
    }
}

/// The decrypted client secret; a provider whose secret does not decrypt is skipped (as the
/// original did), with a log line that names the provider only.
async fn client_secret(cipher: &Cipher, p: &ProviderRow) -> Option<String> {
    let (cipher, stored) = (cipher.clone(), p.client_secret.clone());
    match off_thread(move || cipher.decrypt(&stored)).await {
        Ok(Ok(secret)) => Some(secret),
        Ok(Err(e)) => {
            tracing::warn!(provider = %p.provider_key, error = %e, "the OIDC client secret does not decrypt; provider skipped");
            None
        }
        Err(_) => None,
    }
}

fn client(
    meta: &Metadata,
    p: &ProviderRow,
    secret: String,
    base_url: &str,
) -> std::result::Result<OidcClient, String> {
    let redirect = RedirectUrl::new(callback_url(base_url, &p.provider_key))
        .map_err(|_| "BASE_URL does not make a valid callback URL".to_string())?;
    let mut c = OidcClient::from_provider_metadata(
        meta.clone(),
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect);
    // HTTP Basic unless the provider only takes the secret in the body.
    if let Some(methods) = meta.token_endpoint_auth_methods_supported() {
        if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
            && methods.contains(&CoreClientAuthMethod::ClientSecretPost)
        {
            c = c.set_auth_type(AuthType::RequestBody);
        }
    }
    Ok(c)
}

/// Where the browser goes to sign in, and the login-state cookie's value.
pub struct LoginStart {
    pub location: String,
    pub state_cookie: String,
}

/// Starts a sign-in with provider `key`: the provider's authorization URL (from discovery, with
/// the admin's overrides; the original's derived endpoints when discovery is impossible).
pub async fn start(
    db: &Db,
    config: &Config,
    cipher: &Cipher,
    oidc: &Oidc,
    key: &str,
    return_to: Option<&str>,
) -> Result<LoginStart> {
    let p = providers::row_by_key(db, key)
        .await?
        .ok_or_else(unknown_provider)?;
    let secret = client_secret(cipher, &p).await.ok_or_else(unknown_provider)?;
    let meta = match oidc.discover(&p.issuer_url, false).await {
        Ok(m) => discovery::with_overrides(&m, &p),
        Err(why) => {
            tracing::warn!(provider = %p.provider_key, reason = %why,
                "OIDC discovery failed; the sign-in starts at the configured or derived endpoint");
            discovery::without_discovery(&p)
        }
    }
    .map_err(|field| {
        tracing::warn!(provider = %p.provider_key, field = %field, "OIDC provider has an invalid URL; provider skipped");
        unknown_provider()
    })?;
    let client = client(&meta, &p, secret, &config.base_url).map_err(|why| {
        tracing::error!(reason = %why, "cannot start an OIDC sign-in");
        Error::internal()
    })?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    let mut seen: Vec<&str> = vec!["openid"];
    for s in p.scopes.split_whitespace() {
        // The client asks for `openid` itself.
        if !seen.contains(&s) {
            seen.push(s);
            request = request.add_scope(Scope::new(s.to_string()));
        }
    }
    let (url, state, nonce) = request.url();
    let cookie = login_state::seal(
        cipher,
        &LoginState {
            p: p.provider_key.clone(),
            s: state.secret().clone(),
            n: nonce.secret().clone(),
            v: verifier.secret().clone(),
            r: local_path(return_to),
            e: jwt::now() + login_state::TTL_SECS,
        },
    );
    Ok(LoginStart {
        location: url.to_string(),
        state_cookie: cookie,
    })
}

/// The provider's answer at the callback.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// How a sign-in at the callback ended, and where the browser goes next.
pub struct Finished {
    pub result: std::result::Result<SignIn, Failure>,
    /// The local path the sign-in was started for.
    pub return_to: String,
}

impl Finished {
    /// Where the browser goes: into the app, to the MFA step, or back to the sign-in page with
    /// the failure's code.
    pub fn location(&self, frontend_url: &str) -> String {
        match &self.result {
            Ok(SignIn::Session(_)) => format!("{frontend_url}{}", self.return_to),
            Ok(SignIn::MfaPending { .. }) => {
                let to: String = url::form_urlencoded::byte_serialize(self.return_to.as_bytes()).collect();
                format!("{frontend_url}/mfa?redirect={to}")
            }
            Err(f) => format!("{frontend_url}/login?error={}", f.code()),
        }
    }
}

/// Finishes a sign-in with provider `key` at its callback. `cookie` is the login-state cookie.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    db: &Db,
    config: &Config,
    cipher: &Cipher,
    oidc: &Oidc,
    origin: &Origin,
    key: &str,
    cookie: Option<&str>,
    params: CallbackParams,
) -> Result<Finished> {
    let p = providers::row_by_key(db, key)
        .await?
        .ok_or_else(unknown_provider)?;
    let returned = params.state.as_deref().unwrap_or("");
    let st = cookie.and_then(|c| login_state::open(cipher, c, key, returned, jwt::now()));
    let return_to = st.as_ref().map(|s| s.r.clone()).unwrap_or_else(|| "/".into());
    let result = match complete(db, config, cipher, oidc, origin, &p, st, params).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(provider = %p.provider_key, error = %e, "OIDC sign-in failed");
            Err(Failure::AuthFailed)
        }
    };
    if let Err(f) = &result {
        audit::log(
            db,
            origin,
            None,
            "auth.login_failed",
            "user",
            None,
            json!({"method": "oidc", "provider_key": p.provider_key, "reason": f.code()}),
        )
        .await;
    }
    Ok(Finished { result, return_to })
}

fn failed(p: &ProviderRow, why: &str) -> std::result::Result<SignIn, Failure> {
    tracing::warn!(provider = %p.provider_key, reason = %why, "OIDC sign-in refused");
    Err(Failure::AuthFailed)
}

#[allow(clippy::too_many_arguments)]
async fn complete(
    db: &Db,
    config: &Config,
    cipher: &Cipher,
    oidc: &Oidc,
    origin: &Origin,
    p: &ProviderRow,
    st: Option<LoginState>,
    params: CallbackParams,
) -> Result<std::result::Result<SignIn, Failure>> {
    if let Some(err) = params.error.as_deref() {
        let err: String = err.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        return Ok(failed(p, &format!("the provider answered {err}")));
    }
    let Some(st) = st else {
        return Ok(failed(p, "the login state is missing, expired or does not match"));
    };
    let Some(code) = params.code.filter(|c| !c.is_empty()) else {
        return Ok(failed(p, "the provider sent no code"));
    };
    let Some(secret) = client_secret(cipher, p).await else {
        return Ok(failed(p, "the client secret does not decrypt"));
    };
    let identity = match verify(config, oidc, p, secret, code, &st).await {
        Ok(v) => v,
        Err(why) => return Ok(failed(p, &why)),
    };
    let (identity, groups) = identity;
    let resolved = match accounts::resolve(db, origin, p, &identity).await? {
        Ok(r) => r,
        Err(f) => {
            tracing::info!(provider = %p.provider_key, reason = f.code(), "OIDC sign-in refused");
            return Ok(Err(f));
        }
    };
    if resolved.user().disabled {
        return Ok(Err(Failure::AccountDisabled));
    }
    if p.groups_claim.is_some() {
        apply_groups(db, origin, p, resolved.user(), &groups).await?;
    }
    let created = matches!(resolved, Resolved::Created(_));
    let user = resolved.into_user();
    let second_factor = user.mfa_enabled() || users::has_passkeys(db, &user.id).await?;
    if second_factor && settings::oidc_require_mfa(db).await? {
        let (token, _) = jwt::sign_pending(&config.jwt_secret, &user.id);
        audit::log(
            db,
            origin,
            Some(&user.id),
            "mfa_login_stepup_required",
            "user",
            Some(&user.id),
            json!({"method": "oidc", "provider_key": p.provider_key}),
        )
        .await;
        return Ok(Ok(SignIn::MfaPending { token }));
    }
    let session = open_session(db, config, user, origin).await?;
    audit::log(
        db,
        origin,
        Some(&session.user.id),
        "auth.login_succeeded",
        "user",
        Some(&session.user.id),
        json!({"method": "oidc", "provider_key": p.provider_key, "new_account": created}),
    )
    .await;
    Ok(Ok(SignIn::Session(Box::new(session))))
}

fn token_error(e: &RequestTokenError<NetError, StandardErrorResponse<CoreErrorResponseType>>) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => format!("the token endpoint answered {}", r.error()),
        RequestTokenError::Request(r) => format!("token request: {}", describe(r)),
        RequestTokenError::Parse(_, _) => "the token answer does not parse".into(),
        RequestTokenError::Other(m) => format!("token request: {m}"),
    }
}

fn claims_error(e: &ClaimsVerificationError) -> String {
    match e {
        ClaimsVerificationError::SignatureVerification(s) => format!("ID token signature: {s}"),
        other => format!("ID token: {other}"),
    }
}

fn userinfo_error(e: &UserInfoError<NetError>) -> String {
    match e {
        UserInfoError::Request(r) => format!("userinfo: {}", describe(r)),
        UserInfoError::Response(status, _, _) => format!("userinfo: HTTP status {}", status.as_u16()),
        UserInfoError::ClaimsVerification(c) => format!("userinfo: {}", claims_error(c)),
        UserInfoError::Parse(_) => "userinfo: the answer does not parse".into(),
        _ => "userinfo failed".into(),
    }
}

/// The values of a group claim: a list of strings, or one string.
fn claim_values(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Exchanges the code and checks what the provider says: the identity and its groups.
async fn verify(
    config: &Config,
    oidc: &Oidc,
    p: &ProviderRow,
    secret: String,
    code: String,
    st: &LoginState,
) -> std::result::Result<(Identity, Vec<String>), String> {
    let http: &OidcHttp = oidc.http().map_err(|e| e.to_string())?;
    let meta = oidc.discover(&p.issuer_url, false).await?;
    let meta = discovery::with_overrides(&meta, p)?;
    let mut client = client(&meta, p, secret.clone(), &config.base_url)?;
    let token: TokenAnswer = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| "the provider has no token endpoint".to_string())?
        .set_pkce_verifier(PkceCodeVerifier::new(st.v.clone()))
        .request_async(http)
        .await
        .map_err(|e| token_error(&e))?;
    let id_token = token
        .id_token()
        .ok_or_else(|| "the token answer has no ID token".to_string())?;
    let nonce = Nonce::new(st.n.clone());
    let first = id_token.claims(&client.id_token_verifier(), &nonce).cloned();
    let claims: IdTokenClaims<OtherClaims, CoreGenderClaim> = match first {
        Ok(c) => c,
        Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
            // The provider may have rotated its keys: fetch them again, once.
            let fresh = oidc.discover(&p.issuer_url, true).await?;
            client = self::client(
                &discovery::with_overrides(&fresh, p)?,
                p,
                secret,
                &config.base_url,
            )?;
            id_token
                .claims(&client.id_token_verifier(), &nonce)
                .map_err(|e| claims_error(&e))?
                .clone()
        }
        Err(e) => return Err(claims_error(&e)),
    };
    if let Some(expected) = claims.access_token_hash() {
        let verifier = client.id_token_verifier();
        if let (Ok(alg), Ok(key)) = (id_token.signing_alg(), id_token.signing_key(&verifier)) {
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
                .map_err(|_| "ID token: cannot check at_hash".to_string())?;
            if actual != *expected {
                return Err("ID token: the access token hash does not match".into());
            }
        }
    }
    let info: Option<UserInfoClaims<OtherClaims, CoreGenderClaim>> =
        match client.user_info(token.access_token().clone(), Some(claims.subject().clone())) {
            Ok(request) => Some(
                request
                    .request_async(http)
                    .await
                    .map_err(|e| userinfo_error(&e))?,
            ),
            Err(_) => None,
        };
    let (email, email_verified) = match info.as_ref().and_then(|u| u.email()) {
        Some(e) => (
            Some(e.as_str().to_string()),
            info.as_ref().and_then(|u| u.email_verified()) == Some(true)
                || (claims.email() == Some(e) && claims.email_verified() == Some(true)),
        ),
        None => (
            claims.email().map(|e| e.as_str().to_string()),
            claims.email_verified() == Some(true),
        ),
    };
    let name = info
        .as_ref()
        .and_then(|u| u.name())
        .or(claims.name())
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string())
        .or_else(|| {
            info.as_ref()
                .and_then(|u| u.preferred_username())
                .or(claims.preferred_username())
                .map(|n| n.as_str().to_string())
        });
    let groups = match p.groups_claim.as_deref() {
        Some(c) => claim_values(
            info.as_ref()
                .and_then(|u| u.additional_claims().0.get(c))
                .or_else(|| claims.additional_claims().0.get(c)),
        ),
        None => Vec::new(),
    };
    Ok((
        Identity {
            sub: claims.subject().as_str().to_string(),
            email,
            email_verified,
            name,
        },
        groups,
    ))
}

/// Team memberships from the provider's groups: members of a mapped group join its team,
/// others leave the mapped teams (teams no mapping names are left alone).
async fn apply_groups(
    db: &Db,
    origin: &Origin,
    p: &ProviderRow,
    user: &crate::users::User,
    groups: &[String],
) -> Result<()> {
    let mappings = providers::mappings(db, &p.id).await?;
    let mut managed: Vec<String> = Vec::new();
    let mut wanted: Vec<String> = Vec::new();
    for m in &mappings {
        if !managed.contains(&m.team_id) {
            managed.push(m.team_id.clone());
        }
        if groups.contains(&m.group) && !wanted.contains(&m.team_id) {
            wanted.push(m.team_id.clone());
        }
    }
    let (joined, left) = teams::sync_memberships(db, &user.id, &managed, &wanted).await?;
    for (action, list) in [("team_member.added", joined), ("team_member.removed", left)] {
        for (team_id, team_name) in list {
            audit::log(
                db,
                origin,
                Some(&user.id),
                action,
                "team_member",
                Some(&team_id),
                json!({"team_id": team_id, "user_id": user.id, "team_name": team_name,
                       "via": "oidc", "provider_key": p.provider_key}),
            )
            .await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_local() {
        assert_eq!(local_path(Some("/bookmarks?x=1")), "/bookmarks?x=1");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn group_claims() {
        assert_eq!(claim_values(Some(&json!(["eng", 3, "ops"]))), vec!["eng", "ops"]);
        assert_eq!(claim_values(Some(&json!("eng"))), vec!["eng"]);
        assert!(claim_values(None).is_empty());
    }
}
