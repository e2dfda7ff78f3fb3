//! Identity: who is calling (sessions, personal API tokens, the credential cache), signing in
//! and out, passwords, session and pending-MFA tokens, rate limits.

pub mod api_tokens;
pub mod cache;
pub mod jwt;
pub mod password;
pub mod ratelimit;
pub mod reset;
pub mod sessions;
mod signin;
pub mod signup;
pub mod tokens;

use std::sync::Arc;

pub use cache::{Authenticator, Credentials};
pub use signin::*;
pub use signup::{register, RegisterRequest, Registered};

use crate::db::Ts;
use crate::users::User;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Cookie,
    BearerJwt,
    ApiToken,
}

/// A signed-in user, and what they signed in with.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: Arc<User>,
    pub method: AuthMethod,
    pub session_id: Option<String>,
    pub token_id: Option<String>,
    /// When the credential stops working (session or token expiry).
    pub expires_at: Option<Ts>,
}

impl AuthUser {
    pub fn id(&self) -> &str {
        &self.user.id
    }
}
