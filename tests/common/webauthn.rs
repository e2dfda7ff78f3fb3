//! A minimal software authenticator for the passkey (WebAuthn) API tests: it plays browser and
//! authenticator at once, answering the server's `navigator.credentials.create()` / `.get()`
//! options with the JSON a browser would post back. There is no CTAP2 and no attestation
//! certificate: registrations carry "none" attestation, assertions are ES256 (ECDSA P-256 with
//! SHA-256) signatures. A [`Tweak`] bends one ceremony to provoke a refusal (wrong origin, counter
//! going backwards, a credential the server never saw).
//!
//! What webauthn-rs-core 0.6 verifies, and what this produces for it:
//! - clientDataJSON: `type`, `challenge` (echoed exactly as the options gave it), `origin` (compared
//!   with the server's origin, port included) and `crossOrigin: false`;
//! - authenticatorData: SHA-256 of the RP ID, the flags UP and UV (passkeys require user
//!   verification; the backup bits BE/BS stay clear, so credentials look device-bound) and a
//!   big-endian signature counter, which must grow once it is non-zero;
//! - registration: attested credential data with an EC2/ES256 COSE key, attestation format "none"
//!   and no extension outputs (requested extensions that are absent are recorded as ignored);
//! - assertion: a DER ECDSA signature over authenticatorData ‖ SHA-256(clientDataJSON).
//!
//! Binary fields travel as unpadded base64url, as webauthn-rs-proto (de)serializes them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use rand::{Rng, RngCore};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Authenticator data flag: the user was present (touched the authenticator).
const FLAG_UP: u8 = 0x01;
/// Authenticator data flag: the user was verified (PIN, biometrics).
const FLAG_UV: u8 = 0x04;
/// Authenticator data flag: attested credential data follows the counter (registration only).
const FLAG_AT: u8 = 0x40;

/// A browser with a platform authenticator, on one origin, holding the credentials it created.
/// Cloning it clones the keys too: a clone is a copied authenticator with its own counters.
#[derive(Clone)]
pub struct SoftAuthenticator {
    /// The RP ID used when the options name none: the origin's host.
    rp_id: String,
    /// The origin put into clientDataJSON, serialized as a browser does (`scheme://host[:port]`).
    origin: String,
    credentials: Vec<Credential>,
}

/// One credential (passkey) created by [`SoftAuthenticator::register`].
#[derive(Clone)]
pub struct Credential {
    /// The credential id (16 to 32 random bytes).
    pub id: Vec<u8>,
    /// `user.id` of the registration options; webauthn-rs passkeys use the user's UUID bytes.
    pub user_handle: Vec<u8>,
    /// The signature counter last used: 0 after registration, then 1, 2, ...
    pub counter: u32,
    key: SigningKey,
}

/// What to change in one ceremony, to provoke a refusal.
#[derive(Default, Clone)]
pub struct Tweak {
    /// clientDataJSON.origin instead of the authenticator's origin.
    pub origin: Option<String>,
    /// Use this signature counter instead of counter+1 (assertions); it is stored as well.
    pub counter: Option<u32>,
    /// Sign with this credential index (assertions); default: the first allowed one, else the
    /// first one.
    pub credential: Option<usize>,
    /// Assertion: sign with a fresh key and a random credential id that was never registered.
    pub unknown_credential: bool,
    /// Assertion: claim this user handle instead of the credential's own (another account's).
    pub user_handle: Option<Vec<u8>>,
}

impl SoftAuthenticator {
    /// An authenticator for `origin` (e.g. `http://localhost:8080`); the RP ID is its host.
    pub fn new(origin: &str) -> Self {
        let url = url::Url::parse(origin).unwrap_or_else(|e| panic!("origin {origin:?}: {e}"));
        let rp_id = url
            .host_str()
            .unwrap_or_else(|| panic!("origin {origin:?} has no host"));
        SoftAuthenticator {
            rp_id: rp_id.to_string(),
            origin: url.origin().ascii_serialization(),
            credentials: Vec::new(),
        }
    }

    /// The credentials registered so far, in creation order.
    pub fn credentials(&self) -> &[Credential] {
        &self.credentials
    }

    /// navigator.credentials.create(): `options` is the server's JSON answer `{"publicKey": {...}}`
    /// (CreationChallengeResponse of webauthn-rs-proto: challenge base64url, rp.id, user.id
    /// base64url, ...). Creates a new P-256 key and a random 16..32-byte credential id, stores
    /// user.id as user handle, and returns the RegisterPublicKeyCredential JSON the server's finish
    /// route takes.
    ///
    /// Like a browser it ignores the requested extensions (credProtect, uvm, credProps), and unlike
    /// one it ignores `excludeCredentials`: one instance can register several passkeys for a user.
    pub fn register(&mut self, options: &Value) -> Value {
        self.register_with(options, &Tweak::default())
    }

    /// [`register`](Self::register) with `tweak.origin` applied; the other fields of the tweak
    /// concern assertions only.
    pub fn register_with(&mut self, options: &Value, tweak: &Tweak) -> Value {
        let pk = public_key(options);
        let rp_id_hash = self.rp_id_hash(pk["rp"]["id"].as_str());
        let user_handle = b64_decode(string(&pk["user"]["id"], "user.id"));
        let client_data = self.client_data("webauthn.create", pk, tweak);
        let key = SigningKey::random(&mut rand::thread_rng());
        let id = random_credential_id();

        // Attested credential data: AAGUID (zero, as for "none" attestation), the credential id's
        // length (u16, big-endian) and the id, then the public key as a COSE_Key.
        let mut auth_data = authenticator_data(&rp_id_hash, FLAG_UP | FLAG_UV | FLAG_AT, 0);
        auth_data.extend_from_slice(&[0u8; 16]);
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cose_key(&key));

        // attestationObject: {"fmt": "none", "attStmt": {}, "authData": <bytes>}.
        let mut attestation = Vec::new();
        cbor_head(&mut attestation, MAJOR_MAP, 3);
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        cbor_head(&mut attestation, MAJOR_MAP, 0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);

        self.credentials.push(Credential {
            id: id.clone(),
            user_handle,
            counter: 0,
            key,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
            },
            "extensions": {},
        })
    }

    /// navigator.credentials.get(): `options` is `{"publicKey": {challenge, rpId,
    /// allowCredentials?, userVerification}}`. Returns the PublicKeyCredential JSON (assertion),
    /// with userHandle set (discoverable credentials).
    pub fn assert(&mut self, options: &Value) -> Value {
        self.assert_with(options, &Tweak::default())
    }

    /// [`assert`](Self::assert) with a [`Tweak`]. The credential used is `tweak.credential`, else
    /// the first stored one listed in `allowCredentials`, else the first stored one (which is also
    /// what an empty `allowCredentials`, the discoverable flow, gets). Panics when there is none,
    /// unless `tweak.unknown_credential` is set.
    pub fn assert_with(&mut self, options: &Value, tweak: &Tweak) -> Value {
        let pk = public_key(options);
        let rp_id_hash = self.rp_id_hash(pk["rpId"].as_str());
        let client_data = self.client_data("webauthn.get", pk, tweak);
        let allowed: Vec<Vec<u8>> = match pk["allowCredentials"].as_array() {
            Some(list) => list
                .iter()
                .map(|c| b64_decode(string(&c["id"], "allowCredentials[].id")))
                .collect(),
            None => Vec::new(),
        };
        let index = tweak
            .credential
            .or_else(|| self.credentials.iter().position(|c| allowed.contains(&c.id)))
            .unwrap_or(0);

        let (id, user_handle, key, counter) = if tweak.unknown_credential {
            // Claims the user of the credential it would have used (or a random one), so that the
            // server gets as far as looking the credential id up.
            let user_handle = match self.credentials.get(index) {
                Some(c) => c.user_handle.clone(),
                None => uuid::Uuid::new_v4().as_bytes().to_vec(),
            };
            let key = SigningKey::random(&mut rand::thread_rng());
            (
                random_credential_id(),
                user_handle,
                key,
                tweak.counter.unwrap_or(1),
            )
        } else {
            let count = self.credentials.len();
            let cred = self
                .credentials
                .get_mut(index)
                .unwrap_or_else(|| panic!("no credential #{index} to assert with ({count} registered)"));
            cred.counter = tweak.counter.unwrap_or(cred.counter.saturating_add(1));
            (
                cred.id.clone(),
                cred.user_handle.clone(),
                cred.key.clone(),
                cred.counter,
            )
        };

        let auth_data = authenticator_data(&rp_id_hash, FLAG_UP | FLAG_UV, counter);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(Sha256::digest(&client_data).as_slice());
        let signature: DerSignature = key.sign(&signed);
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_bytes()),
                "userHandle": b64(tweak.user_handle.as_deref().unwrap_or(&user_handle)),
            },
            "extensions": {},
        })
    }

    /// SHA-256 of the RP ID the options ask for (ours when they name none). As a browser would,
    /// refuses (panics) unless it is our host or a parent domain of it.
    fn rp_id_hash(&self, requested: Option<&str>) -> [u8; 32] {
        let host = self.rp_id.as_str();
        let rp_id = requested.unwrap_or(host);
        assert!(
            rp_id == host || host.ends_with(&format!(".{rp_id}")),
            "the options' RP ID {rp_id:?} does not cover the origin's host {host:?} (SecurityError)"
        );
        Sha256::digest(rp_id.as_bytes()).into()
    }

    /// clientDataJSON, with the members in the order browsers write them.
    fn client_data(&self, type_: &str, pk: &Value, tweak: &Tweak) -> Vec<u8> {
        let challenge = string(&pk["challenge"], "challenge");
        let origin = tweak.origin.as_deref().unwrap_or(&self.origin);
        format!(
            r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":false}}"#,
            Value::from(type_),
            Value::from(challenge),
            Value::from(origin)
        )
        .into_bytes()
    }
}

/// The `publicKey` member of the options (or the options themselves, if already unwrapped).
fn public_key(options: &Value) -> &Value {
    options.get("publicKey").unwrap_or(options)
}

/// A string member of the options, or a panic naming it.
fn string<'a>(value: &'a Value, name: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("options: {name} is not a string: {value}"))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .unwrap_or_else(|e| panic!("base64url {text:?}: {e}"))
}

/// 16 to 32 random bytes.
fn random_credential_id() -> Vec<u8> {
    let mut rng = rand::thread_rng();
    let mut id = vec![0u8; rng.gen_range(16..=32)];
    rng.fill_bytes(&mut id);
    id
}

/// rpIdHash ‖ flags ‖ signCount (u32, big-endian); attested credential data may follow.
fn authenticator_data(rp_id_hash: &[u8; 32], flags: u8, counter: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity(37);
    data.extend_from_slice(rp_id_hash);
    data.push(flags);
    data.extend_from_slice(&counter.to_be_bytes());
    data
}

/// The public key as a COSE_Key: {1 (kty): 2 (EC2), 3 (alg): -7 (ES256), -1 (crv): 1 (P-256),
/// -2 (x): 32 bytes, -3 (y): 32 bytes}, keys in canonical CBOR order.
fn cose_key(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    let mut out = Vec::new();
    cbor_head(&mut out, MAJOR_MAP, 5);
    for (label, value) in [(1, 2), (3, -7), (-1, 1)] {
        cbor_int(&mut out, label);
        cbor_int(&mut out, value);
    }
    cbor_int(&mut out, -2);
    cbor_bytes(&mut out, point.x().expect("uncompressed point has x"));
    cbor_int(&mut out, -3);
    cbor_bytes(&mut out, point.y().expect("uncompressed point has y"));
    out
}

// Hand-written CBOR (RFC 8949), definite lengths only: just the major types used above.
const MAJOR_UNSIGNED: u8 = 0;
const MAJOR_NEGATIVE: u8 = 1;
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_MAP: u8 = 5;

/// The initial byte(s) of an item: the major type and its argument in the shortest form.
fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// An integer: major type 0 for n ≥ 0, major type 1 with argument -1-n for n < 0.
fn cbor_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        cbor_head(out, MAJOR_UNSIGNED, n as u64);
    } else {
        cbor_head(out, MAJOR_NEGATIVE, (-1 - n) as u64);
    }
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, MAJOR_BYTES, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor_head(out, MAJOR_TEXT, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}
