//! At-rest encryption of secrets (TOTP seeds, OIDC client secrets, SMTP password).
//!
//! We write `v2:` + base64(12-byte nonce ‖ AES-256-GCM ciphertext ‖ tag) under a key derived once
//! from `ENCRYPTION_KEY` with HKDF-SHA256. We read that and the original's format,
//! `hex(salt 64 B):hex(iv 16 B):hex(tag 16 B):hex(ciphertext)` with a per-value key
//! scrypt(master, salt, N=16384, r=8, p=1) and a 16-byte GCM nonce. Decryption fails closed:
//! anything that does not decrypt is an error, never passed through as plaintext.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};
use base64::Engine;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the value is not in a known encrypted format")]
    Format,
    #[error("the value does not decrypt with this ENCRYPTION_KEY")]
    Decrypt,
}

#[derive(Clone)]
pub struct Cipher {
    master: [u8; 32],
    v2: [u8; 32],
}

impl Cipher {
    pub fn new(master: [u8; 32]) -> Cipher {
        let mut v2 = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"slugbase"), &master)
            .expand(b"slugbase at-rest encryption v2", &mut v2)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Cipher { master, v2 }
    }

    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new((&self.v2).into());
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!(
            "v2:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
        )
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        if let Some(b64) = stored.strip_prefix("v2:") {
            let raw = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(b64)
                .map_err(|_| CryptoError::Format)?;
            if raw.len() < 12 + 16 {
                return Err(CryptoError::Format);
            }
            let (nonce, ct) = raw.split_at(12);
            let pt = Aes256Gcm::new((&self.v2).into())
                .decrypt(Nonce::from_slice(nonce), ct)
                .map_err(|_| CryptoError::Decrypt)?;
            return String::from_utf8(pt).map_err(|_| CryptoError::Decrypt);
        }
        self.decrypt_legacy(stored)
    }

    /// Encrypts a short-lived value that leaves the server (a cookie) under the v2 key, bound to
    /// `purpose` (authenticated, not encrypted), so a value made for one purpose — or a stored
    /// secret — never opens as another. URL-safe base64, no padding.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> String {
        use aes_gcm::aead::Payload;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = Aes256Gcm::new((&self.v2).into())
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
    }

    /// Opens what [`Cipher::seal`] made for the same `purpose`.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        use aes_gcm::aead::Payload;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| CryptoError::Format)?;
        if raw.len() < 12 + 16 {
            return Err(CryptoError::Format);
        }
        let (nonce, ct) = raw.split_at(12);
        Aes256Gcm::new((&self.v2).into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Whether a stored value is in the original's format (and should be re-encrypted when next
    /// written).
    pub fn is_legacy(stored: &str) -> bool {
        stored.split(':').count() == 4 && !stored.starts_with("v2:")
    }

    fn decrypt_legacy(&self, stored: &str) -> Result<String, CryptoError> {
        let parts: Vec<&str> = stored.split(':').collect();
        let [salt, iv, tag, data] = parts.as_slice() else {
            return Err(CryptoError::Format);
        };
        let salt = hex::decode(salt).map_err(|_| CryptoError::Format)?;
        let iv = hex::decode(iv).map_err(|_| CryptoError::Format)?;
        let tag = hex::decode(tag).map_err(|_| CryptoError::Format)?;
        let mut data = hex::decode(data).map_err(|_| CryptoError::Format)?;
        if iv.len() != 16 || tag.len() != 16 {
            return Err(CryptoError::Format);
        }
        let mut key = [0u8; 32];
        let params = scrypt::Params::new(14, 8, 1, 32).map_err(|_| CryptoError::Format)?;
        scrypt::scrypt(&self.master, &salt, &params, &mut key).map_err(|_| CryptoError::Format)?;
        data.extend_from_slice(&tag);
        let cipher = AesGcm::<Aes256, U16>::new((&key).into());
        let pt = cipher
            .decrypt(aes_gcm::Nonce::<U16>::from_slice(&iv), data.as_ref())
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_key() -> [u8; 32] {
        crate::config::derive_master_key("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .unwrap()
    }

    #[test]
    fn v2_round_trip_and_fails_closed() {
        let c = Cipher::new(fixture_key());
        let e = c.encrypt("JBSWY3DPEHPK3PXP");
        assert!(e.starts_with("v2:"));
        assert_ne!(e, c.encrypt("JBSWY3DPEHPK3PXP"), "fresh nonce each time");
        assert_eq!(c.decrypt(&e).unwrap(), "JBSWY3DPEHPK3PXP");
        let other = Cipher::new([7u8; 32]);
        assert_eq!(other.decrypt(&e), Err(CryptoError::Decrypt));
        assert_eq!(c.decrypt("plaintext-secret"), Err(CryptoError::Format));
    }

    #[test]
    fn sealed_values_open_only_for_their_purpose() {
        let c = Cipher::new(fixture_key());
        let s = c.seal("oidc-login", b"{\"state\":\"x\"}");
        assert!(!s.contains('+') && !s.contains('/') && !s.contains('='));
        assert_eq!(c.open("oidc-login", &s).unwrap(), b"{\"state\":\"x\"}");
        assert_eq!(c.open("other", &s), Err(CryptoError::Decrypt));
        assert_eq!(
            Cipher::new([3u8; 32]).open("oidc-login", &s),
            Err(CryptoError::Decrypt)
        );
        let stored = c.encrypt("secret");
        assert!(c.open("oidc-login", stored.trim_start_matches("v2:")).is_err());
    }

    #[test]
    fn reads_the_originals_format() {
        // bob's TOTP secret as the original SlugBase 1.0.0 stored it (shared/fixtures).
        let stored = "42b4344409f82b9cb82959f5b56ed8aa2ba4d7e107c1140a2b71a5d4d2ce5c77423800f34e8624746888c4e2f66ffaf6b289bef1dc21de029fe07d6fe4f1c6b1:cea61ca8cfc23f4c91f4374d49ff560a:bfae0b58cef1baf74ad89d93ad24f119:418fb51c0c812a1bdbce67d6608a07e0cb66cf6736b02a768ecbc3a9a561dc54";
        let c = Cipher::new(fixture_key());
        assert!(Cipher::is_legacy(stored));
        assert_eq!(c.decrypt(stored).unwrap(), "S2EDOC2F6HWV7SO46YN7ESXGKXIQS2MR");
        assert_eq!(Cipher::new([1u8; 32]).decrypt(stored), Err(CryptoError::Decrypt));
    }
}
