//! The factor itself: TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step), one-time backup
//! codes, and how both are stored.
//!
//! Beyond the original: an accepted TOTP time step is recorded per user and never accepted again
//! (replay protection that holds across instances, as the claim is one conditional UPDATE), secrets
//! are encrypted at rest in our v2 format, and backup codes are consumed in the same transaction
//! as the session they open.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::crypto::Cipher;
use crate::db::{self, Db, Ts, Tx};
use crate::error::{Error, Result};
use crate::{with_db, with_tx};

pub const STEP_SECS: u64 = 30;
pub const DIGITS: usize = 6;
pub const BACKUP_CODE_COUNT: usize = 10;

/// A new secret: 20 random bytes, Base32 without padding (32 characters).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    totp_rs::Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret_b32.trim().to_uppercase())
        .to_bytes()
        .ok()?;
    Some(TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 1, STEP_SECS, bytes))
}

/// The code for the time step containing `unix_secs`.
pub fn code_at(secret_b32: &str, unix_secs: u64) -> Option<String> {
    totp(secret_b32).map(|t| t.generate(unix_secs))
}

/// Strips whitespace; a TOTP code is then exactly six ASCII digits.
pub fn parse_totp(input: &str) -> Option<String> {
    let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (s.len() == DIGITS && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// Strips whitespace (and dashes) and lower-cases; a backup code is then 16 hex characters.
pub fn parse_backup(input: &str) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_lowercase();
    (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
}

/// The time step (±1 around `now`) whose code equals `code`, compared in constant time.
pub fn matching_step(secret_b32: &str, code: &str, now: u64) -> Option<i64> {
    let t = totp(secret_b32)?;
    let current = now / STEP_SECS;
    let mut found = None;
    for step in [current.saturating_sub(1), current, current + 1] {
        let candidate = t.generate(step * STEP_SECS);
        if bool::from(candidate.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step as i64);
        }
    }
    found
}

pub fn otpauth_url(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    let label = account.trim().to_lowercase();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={}&period={}",
        enc(issuer),
        enc(&label),
        secret_b32,
        enc(issuer),
        DIGITS,
        STEP_SECS
    )
}

/// The otpauth URL as an SVG QR code, rendered here (no third-party service sees the secret).
pub fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

pub fn new_backup_codes() -> Vec<String> {
    (0..BACKUP_CODE_COUNT)
        .map(|_| {
            let mut b = [0u8; 8];
            rand::rngs::OsRng.fill_bytes(&mut b);
            hex::encode(b)
        })
        .collect()
}

/// SHA-256 hex of the normalised code (the original's storage format).
pub fn hash_backup_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

#[derive(Debug, sqlx::FromRow)]
pub struct MfaRow {
    pub mfa_enabled: Option<bool>,
    pub mfa_totp_secret_enc: Option<String>,
    pub mfa_enrolled_at: Option<Ts>,
}

impl MfaRow {
    pub fn enabled(&self) -> bool {
        self.mfa_enabled.unwrap_or(false)
    }
    pub fn pending(&self) -> bool {
        !self.enabled() && self.mfa_totp_secret_enc.as_deref().is_some_and(|s| !s.is_empty())
    }
}

pub async fn load(db: &Db, user_id: &str) -> Result<Option<MfaRow>> {
    Ok(with_db!(db, pool => sqlx::query_as::<_, MfaRow>(
        "SELECT mfa_enabled, mfa_totp_secret_enc, mfa_enrolled_at FROM users WHERE id = $1")
        .bind(user_id).fetch_optional(pool).await?))
}

pub async fn remaining_backup_codes(db: &Db, user_id: &str) -> Result<i64> {
    Ok(with_db!(db, pool => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id).fetch_one(pool).await?))
}

fn decrypt_secret(cipher: &Cipher, row: &MfaRow) -> Option<String> {
    let enc = row.mfa_totp_secret_enc.as_deref().filter(|s| !s.is_empty())?;
    match cipher.decrypt(enc) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "a stored TOTP secret does not decrypt");
            None
        }
    }
}

/// Starts (or restarts) enrollment: a new pending secret, stored encrypted. Refused when MFA is
/// already on.
pub async fn begin(db: &Db, cipher: &Cipher, user_id: &str) -> Result<String> {
    let secret = new_secret();
    let n = with_db!(db, pool => sqlx::query(
        "UPDATE users SET mfa_totp_secret_enc = $1 WHERE id = $2 AND (mfa_enabled IS NULL OR mfa_enabled = FALSE)")
        .bind(cipher.encrypt(&secret)).bind(user_id).execute(pool).await?.rows_affected());
    if n == 0 {
        return Err(already_enabled());
    }
    Ok(secret)
}

pub fn already_enabled() -> Error {
    Error::conflict("MFA_ALREADY_ENABLED", "MFA is already enabled")
}

pub fn invalid_code() -> Error {
    Error::bad_request("Invalid code").with_code("INVALID_CODE")
}

/// Outcome of checking a code against the user's factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// A TOTP code; its time step is now claimed.
    Totp,
    /// A backup code (consumed when the caller asked for it).
    Backup,
}

/// Confirms enrollment with a TOTP code from the pending secret: in one transaction, turns MFA on
/// (only if it is still off), claims the code's time step, and replaces the backup codes.
pub async fn confirm(db: &Db, cipher: &Cipher, user_id: &str, code: &str) -> Result<Vec<String>> {
    let row = load(db, user_id).await?.ok_or_else(Error::unauthorized)?;
    if row.enabled() {
        return Err(already_enabled());
    }
    if !row.pending() {
        return Err(Error::bad_request("No enrollment in progress").with_code("MFA_NO_PENDING"));
    }
    let code = parse_totp(code).ok_or_else(invalid_code)?;
    let secret = decrypt_secret(cipher, &row).ok_or_else(invalid_code)?;
    let step = matching_step(&secret, &code, now()).ok_or_else(invalid_code)?;
    let codes = new_backup_codes();
    let mut tx = db.begin().await?;
    let n = with_tx!(&mut tx, c => sqlx::query(
        "UPDATE users SET mfa_enabled = TRUE, mfa_enrolled_at = $1, mfa_last_used_step = $2 \
         WHERE id = $3 AND (mfa_enabled IS NULL OR mfa_enabled = FALSE) AND mfa_totp_secret_enc = $4")
        .bind(Ts::now()).bind(step).bind(user_id).bind(row.mfa_totp_secret_enc.as_deref())
        .execute(c).await?.rows_affected());
    if n == 0 {
        // Someone confirmed (or restarted enrollment) in between.
        return Err(already_enabled());
    }
    replace_backup_codes(&mut tx, user_id, &codes).await?;
    tx.commit().await?;
    Ok(codes)
}

async fn replace_backup_codes(tx: &mut Tx, user_id: &str, codes: &[String]) -> Result<()> {
    with_tx!(tx, c => sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
        .bind(user_id).execute(c).await?.rows_affected());
    let now = Ts::now();
    for code in codes {
        with_tx!(tx, c => sqlx::query(
            "INSERT INTO mfa_backup_codes (id, user_id, code_hash, used_at, created_at) VALUES ($1, $2, $3, NULL, $4)")
            .bind(db::new_id()).bind(user_id).bind(hash_backup_code(code)).bind(now)
            .execute(c).await?.rows_affected());
    }
    Ok(())
}

/// Cancels a pending enrollment (idempotent). Refused when MFA is on.
pub async fn cancel(db: &Db, user_id: &str) -> Result<()> {
    let row = load(db, user_id).await?.ok_or_else(Error::unauthorized)?;
    if row.enabled() {
        return Err(already_enabled());
    }
    with_db!(db, pool => sqlx::query(
        "UPDATE users SET mfa_totp_secret_enc = NULL WHERE id = $1 AND (mfa_enabled IS NULL OR mfa_enabled = FALSE)")
        .bind(user_id).execute(pool).await?.rows_affected());
    Ok(())
}

fn now() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

/// Checks `input` against an enabled user's factor inside `tx`: a TOTP code claims its time step
/// (refused if that step or a later one was already used); a backup code is consumed when
/// `consume_backup` is set, otherwise only checked. `Ok(None)` means the code is not good.
pub async fn check_code(
    tx: &mut Tx,
    cipher: &Cipher,
    user_id: &str,
    input: &str,
    consume_backup: bool,
) -> Result<Option<Accepted>> {
    let row = with_tx!(tx, c => sqlx::query_as::<_, MfaRow>(
        "SELECT mfa_enabled, mfa_totp_secret_enc, mfa_enrolled_at FROM users WHERE id = $1")
        .bind(user_id).fetch_optional(c).await?);
    let Some(row) = row.filter(MfaRow::enabled) else {
        return Ok(None);
    };
    if let Some(code) = parse_totp(input) {
        let Some(secret) = decrypt_secret(cipher, &row) else {
            return Ok(None);
        };
        let Some(step) = matching_step(&secret, &code, now()) else {
            return Ok(None);
        };
        let claimed = with_tx!(tx, c => sqlx::query(
            "UPDATE users SET mfa_last_used_step = $1 WHERE id = $2 \
             AND (mfa_last_used_step IS NULL OR mfa_last_used_step < $1)")
            .bind(step).bind(user_id).execute(c).await?.rows_affected());
        return Ok((claimed == 1).then_some(Accepted::Totp));
    }
    if let Some(code) = parse_backup(input) {
        let hash = hash_backup_code(&code);
        let ok = if consume_backup {
            with_tx!(tx, c => sqlx::query(
                "UPDATE mfa_backup_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
                .bind(Ts::now()).bind(user_id).bind(&hash).execute(c).await?.rows_affected())
                == 1
        } else {
            with_tx!(tx, c => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL")
                .bind(user_id).bind(&hash).fetch_one(c).await?)
                > 0
        };
        return Ok(ok.then_some(Accepted::Backup));
    }
    Ok(None)
}

/// Turns MFA off inside `tx`: secret, enrollment time and backup codes go.
pub async fn disable_in(tx: &mut Tx, user_id: &str) -> Result<()> {
    with_tx!(tx, c => sqlx::query(
        "UPDATE users SET mfa_enabled = FALSE, mfa_totp_secret_enc = NULL, mfa_enrolled_at = NULL, \
         mfa_last_used_step = NULL WHERE id = $1")
        .bind(user_id).execute(c).await?.rows_affected());
    with_tx!(tx, c => sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1")
        .bind(user_id).execute(c).await?.rows_affected());
    Ok(())
}

/// Recovery by an admin: turns MFA off for the user, removes their passkeys and ends their sessions. `false` when there
/// is no such user.
pub async fn reset(db: &Db, user_id: &str) -> Result<bool> {
    let mut tx = db.begin().await?;
    let exists: i64 = with_tx!(&mut tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1")
        .bind(user_id).fetch_one(c).await?);
    if exists == 0 {
        return Ok(false);
    }
    disable_in(&mut tx, user_id).await?;
    with_tx!(&mut tx, c => sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
        .bind(user_id).execute(c).await?.rows_affected());
    with_tx!(&mut tx, c => sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
        .bind(user_id).execute(c).await?.rows_affected());
    tx.commit().await?;
    Ok(true)
}

/// New backup codes inside `tx`; every earlier code stops working.
pub async fn regenerate_in(tx: &mut Tx, user_id: &str) -> Result<Vec<String>> {
    let codes = new_backup_codes();
    replace_backup_codes(tx, user_id, &codes).await?;
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", 8-digit codes; the 6-digit code
        // is the last six digits of each.
        let secret = totp_rs::Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        for (t, expected) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(&secret, t).unwrap(), expected[2..], "t={t}");
        }
    }

    #[test]
    fn accepts_one_step_of_drift_and_no_more() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        let now = 1_700_000_000u64;
        let step = (now / 30) as i64;
        for (offset, expected) in [(-30i64, Some(step - 1)), (0, Some(step)), (30, Some(step + 1))] {
            let code = code_at(&secret, (now as i64 + offset) as u64).unwrap();
            assert_eq!(matching_step(&secret, &code, now), expected, "offset {offset}");
        }
        for offset in [-90i64, -60, 60, 90] {
            let code = code_at(&secret, (now as i64 + offset) as u64).unwrap();
            let s = matching_step(&secret, &code, now);
            // A far code may collide with a near one by chance (1 in a million); it then matches a
            // near step, never its own.
            assert!(
                s.is_none() || (step - 1..=step + 1).contains(&s.unwrap()),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn input_parsing() {
        assert_eq!(parse_totp(" 123456 ").as_deref(), Some("123456"));
        assert_eq!(parse_totp("12 34 56").as_deref(), Some("123456"));
        for bad in ["12345", "1234567", "abcdef", "", "abc"] {
            assert_eq!(parse_totp(bad), None, "{bad}");
        }
        assert_eq!(
            parse_backup(" 3B28 BC2F 02A4 A73A ").as_deref(),
            Some("3b28bc2f02a4a73a")
        );
        assert_eq!(parse_backup("3b28bc2f02a4a73g"), None);
        assert_eq!(parse_backup("3b28bc2f"), None);
    }

    #[test]
    fn backup_codes_shape_and_hash() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        for c in &codes {
            assert!(
                c.len() == 16
                    && c.bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
        assert_ne!(
            hash_backup_code("3b28bc2f02a4a73a"),
            hash_backup_code("3b28bc2f02a4a73b")
        );
    }

    #[test]
    fn otpauth_url_and_qr() {
        let url = otpauth_url("SlugBase", " Bob@Example.com ", "JBSWY3DPEHPK3PXP");
        assert!(url.starts_with(
            "otpauth://totp/SlugBase:bob%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=SlugBase"
        ));
        let url = otpauth_url("My Company", "a@b.co", "JBSWY3DPEHPK3PXP");
        assert!(url.contains("My%20Company"), "{url}");
        let svg = qr_svg(&url);
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    }
}
