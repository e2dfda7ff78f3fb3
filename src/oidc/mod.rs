//! Sign-in with OpenID Connect (Keycloak, Authentik, Google, Entra …): the providers an admin
//! configures ([`providers`], checked by [`validate`]), the sign-in itself ([`login`]: to the
//! provider and back, with the state in an encrypted cookie), which account it opens
//! ([`accounts`]: linked by provider and subject, by verified e-mail, or new) and the team
//! memberships it brings (the provider's group mapping).
//!
//! Beyond the original: discovery with the admin's endpoint overrides, PKCE and a nonce, the ID
//! token checked with the `openidconnect` crate, accounts linked by subject (by e-mail only when
//! the provider verified it), the MFA step after the provider unless the admin turns it off, and
//! identity providers on the LAN when `OIDC_ALLOW_HOSTS` lists them — every request to a
//! provider keeps the SSRF rules otherwise ([`net`]).

mod accounts;
mod discovery;
mod login;
mod login_state;
mod net;
pub mod providers;
pub mod validate;

use std::sync::{Arc, OnceLock};

pub use login::{finish, start, CallbackParams, Finished, LoginStart};
pub use providers::{GroupMapping, GroupMappingInput, OidcProvider, ProviderInput};

use crate::config::AllowHosts;
use crate::error::{Error, Result};
use crate::metadata::Policy;

/// Why a sign-in through a provider did not open a session; its code goes to the sign-in page
/// as `/login?error=<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Anything else: state or nonce wrong, the provider refused, a token or key problem.
    AuthFailed,
    /// No account, and the provider may not create one.
    AutoCreateDisabled,
    /// An account with this e-mail exists, and the provider did not verify the address.
    EmailNotVerified,
    /// The account with this e-mail is linked to another provider or subject.
    LinkedElsewhere,
    /// The account is disabled.
    AccountDisabled,
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Failure::AuthFailed => "auth_failed",
            Failure::AutoCreateDisabled => "auto_create_disabled",
            Failure::EmailNotVerified => "email_not_verified",
            Failure::LinkedElsewhere => "account_linked_elsewhere",
            Failure::AccountDisabled => "account_disabled",
        }
    }

    /// Every code, for the sign-in page's messages.
    pub const CODES: [&'static str; 5] = [
        "auth_failed",
        "auto_create_disabled",
        "email_not_verified",
        "account_linked_elsewhere",
        "account_disabled",
    ];
}

/// The in-memory part of OIDC: the outgoing HTTP client under the SSRF policy (built on first
/// use), and discovered provider metadata.
pub struct Oidc {
    policy: Policy,
    http: OnceLock<std::result::Result<net::OidcHttp, String>>,
    metadata: discovery::MetadataCache,
}

impl Oidc {
    pub fn new(allow: &AllowHosts) -> Oidc {
        Oidc {
            policy: Policy {
                allow: allow.ips.clone(),
                allow_names: allow.names.clone(),
            },
            http: OnceLock::new(),
            metadata: Default::default(),
        }
    }

    /// Which addresses the OIDC client may reach.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn http(&self) -> Result<&net::OidcHttp> {
        self.http
            .get_or_init(|| net::OidcHttp::new(self.policy.clone()))
            .as_ref()
            .map_err(|e| {
                tracing::error!(error = %e, "OIDC HTTP client unavailable");
                Error::internal()
            })
    }

    async fn discover(
        &self,
        issuer: &str,
        fresh: bool,
    ) -> std::result::Result<Arc<discovery::Metadata>, String> {
        let http = self.http().map_err(|e| e.message.to_string())?;
        discovery::discover(http, &self.metadata, issuer, fresh).await
    }

    /// Drops what this instance remembers about an issuer (after the provider changed).
    pub fn forget(&self, issuer: &str) {
        self.metadata.forget(issuer);
    }
}
