//! The state of a sign-in between the redirect to the provider and its callback: which provider,
//! the `state` and `nonce` sent, the PKCE verifier and where to go afterwards. It travels in a
//! cookie, encrypted and authenticated under `ENCRYPTION_KEY` (so any instance can finish the
//! sign-in) and bound to its purpose, for ten minutes.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::crypto::Cipher;

const PURPOSE: &str = "slugbase oidc login state v1";
pub const TTL_SECS: i64 = 600;

#[derive(Serialize, Deserialize)]
pub struct LoginState {
    /// Provider key.
    pub p: String,
    /// `state` sent to the provider.
    pub s: String,
    /// `nonce` sent to the provider.
    pub n: String,
    /// PKCE code verifier.
    pub v: String,
    /// Local path to return to.
    pub r: String,
    /// Expiry (Unix seconds).
    pub e: i64,
}

pub fn seal(cipher: &Cipher, state: &LoginState) -> String {
    let json = serde_json::to_vec(state).unwrap_or_default();
    cipher.seal(PURPOSE, &json)
}

/// The state in `cookie` if it opens, is for `provider`, has not expired, and its `state` equals
/// the one the provider sent back.
pub fn open(
    cipher: &Cipher,
    cookie: &str,
    provider: &str,
    returned_state: &str,
    now: i64,
) -> Option<LoginState> {
    let raw = cipher.open(PURPOSE, cookie).ok()?;
    let st: LoginState = serde_json::from_slice(&raw).ok()?;
    let same_state: bool = st.s.as_bytes().ct_eq(returned_state.as_bytes()).into();
    (st.p == provider && st.e > now && same_state && !st.s.is_empty()).then_some(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let c = Cipher::new([5u8; 32]);
        let st = LoginState {
            p: "idp".into(),
            s: "abc".into(),
            n: "nonce".into(),
            v: "verifier".into(),
            r: "/x".into(),
            e: 1_000,
        };
        let cookie = seal(&c, &st);
        assert!(!cookie.contains("verifier"));
        assert_eq!(
            open(&c, &cookie, "idp", "abc", 999).map(|s| s.v),
            Some("verifier".into())
        );
        assert!(open(&c, &cookie, "idp", "abd", 999).is_none(), "state differs");
        assert!(
            open(&c, &cookie, "other", "abc", 999).is_none(),
            "another provider"
        );
        assert!(open(&c, &cookie, "idp", "abc", 1_000).is_none(), "expired");
        assert!(open(&Cipher::new([6u8; 32]), &cookie, "idp", "abc", 999).is_none());
    }
}
