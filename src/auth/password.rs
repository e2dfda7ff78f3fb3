//! Password hashing and policy. New hashes are Argon2id with OWASP's recommended parameters; the
//! original's bcrypt hashes verify too, and [`needs_rehash`] tells the caller to upgrade them.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

/// The original's upper bound; longer passwords are refused before any hashing.
pub const MAX_LEN: usize = 128;
pub const MIN_LEN: usize = 8;

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: Argon2id, m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on a blocking thread (Argon2 takes tens of milliseconds by design).
pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_owned();
    crate::error::off_thread(move || hash_blocking(&password)).await?
}

pub fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            Error::internal()
        })
}

/// Verifies against an Argon2 (PHC string) or bcrypt (`$2a$`/`$2b$`/`$2y$`) hash. `None` (a user
/// without password, or no such user) still spends the time of a real verification, so the
/// answer's timing does not tell whether the account exists.
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    tokio::task::spawn_blocking(move || verify_blocking(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}

pub fn verify_blocking(password: &str, stored: Option<&str>) -> bool {
    match stored {
        Some(h) if h.starts_with("$2") => bcrypt::verify(password, h).unwrap_or(false),
        Some(h) if h.starts_with("$argon2") => match PasswordHash::new(h) {
            Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        },
        _ => {
            // Equalise timing with a real verification that cannot succeed.
            let dummy = dummy_hash();
            if let Ok(parsed) = PasswordHash::new(dummy) {
                let _ = argon2().verify_password(password.as_bytes(), &parsed);
            }
            false
        }
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not-a-password-anyone-has").unwrap_or_default())
}

/// Whether a stored hash should be replaced by a fresh Argon2id hash at the next login.
pub fn needs_rehash(stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => {
            h.algorithm != argon2::ARGON2ID_IDENT
                || Params::try_from(&h)
                    .map(|p| p.m_cost() < 19 * 1024 || p.t_cost() < 2)
                    .unwrap_or(true)
        }
        Err(_) => true,
    }
}

/// The original's password policy, with its messages (first failing rule wins).
pub fn check_policy(password: &str) -> Result<(), &'static str> {
    if password.is_empty() {
        return Err("Password is required");
    }
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err("Password must be at least 8 characters long");
    }
    if len > MAX_LEN {
        return Err("Password must be no more than 128 characters");
    }
    if !password.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("Password must contain at least one uppercase letter");
    }
    if !password.chars().any(|c| c.is_ascii_lowercase()) {
        return Err("Password must contain at least one lowercase letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return Err("Password must contain at least one number");
    }
    const SPECIAL: &str = "!@#$%^&*()_+-=[]{};':\"\\|,.<>/?";
    if !password.chars().any(|c| SPECIAL.contains(c)) {
        return Err("Password must contain at least one special character");
    }
    Ok(())
}

/// [`check_policy`] as a 400 naming `field`.
pub fn validate(field: &str, password: &str) -> Result<()> {
    check_policy(password).map_err(|m| Error::invalid(field, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip_and_no_rehash_needed() {
        let h = hash_blocking("Correct-Horse-1").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_blocking("Correct-Horse-1", Some(&h)));
        assert!(!verify_blocking("Correct-Horse-2", Some(&h)));
        assert!(!needs_rehash(&h));
    }

    #[test]
    fn bcrypt_verifies_and_asks_for_rehash() {
        let h = bcrypt::hash("Admin-Passw0rd!", 4).unwrap();
        assert!(verify_blocking("Admin-Passw0rd!", Some(&h)));
        assert!(!verify_blocking("admin-passw0rd!", Some(&h)));
        assert!(needs_rehash(&h));
    }

    #[test]
    fn missing_hash_never_verifies() {
        assert!(!verify_blocking("anything", None));
        assert!(!verify_blocking("anything", Some("garbage")));
    }

    #[test]
    fn policy_messages_in_order() {
        assert_eq!(check_policy(""), Err("Password is required"));
        assert_eq!(
            check_policy("Ab1!"),
            Err("Password must be at least 8 characters long")
        );
        assert_eq!(
            check_policy(&"Ab1!".repeat(40)),
            Err("Password must be no more than 128 characters")
        );
        assert_eq!(
            check_policy("abcdefg1!"),
            Err("Password must contain at least one uppercase letter")
        );
        assert_eq!(
            check_policy("ABCDEFG1!"),
            Err("Password must contain at least one lowercase letter")
        );
        assert_eq!(
            check_policy("Abcdefgh!"),
            Err("Password must contain at least one number")
        );
        assert_eq!(
            check_policy("Abcdefgh1"),
            Err("Password must contain at least one special character")
        );
        assert_eq!(check_policy("Abcdefg1!"), Ok(()));
    }
}
