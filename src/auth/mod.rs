//! Identity: passwords, session and pending-MFA tokens, API tokens, rate limits.

pub mod api_tokens;
pub mod jwt;
pub mod password;
pub mod ratelimit;
pub mod sessions;
