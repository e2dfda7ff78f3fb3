//! A real OpenID Provider for the OIDC tests: `tests/browser/oidc-provider.mjs` (the npm package
//! `oidc-provider`, a certified implementation) started with `node` on a free loopback port, with
//! one static confidential client. Needs `npm ci --prefix tests/browser`; without node or the
//! package the tests print why and skip, except under `CI=true`, where they fail.
//!
//! It is stopped (SIGTERM, then SIGKILL) when the [`Idp`] is dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct IdpOptions {
    /// Listen address and issuer host (`127.0.0.2` makes it another site than an app on
    /// 127.0.0.1).
    pub host: &'static str,
    /// Registered redirect URIs; with `any_port` a loopback one matches on every port.
    pub redirect_uris: Vec<String>,
    pub any_port: bool,
    /// `{"login": {claims}}`; `sub` defaults to the login name.
    pub accounts: Value,
    /// `minimal`: the ID token has only `sub`, the rest comes from userinfo.
    pub id_token_claims: &'static str,
}

impl Default for IdpOptions {
    fn default() -> Self {
        IdpOptions {
            host: "127.0.0.1",
            redirect_uris: vec!["http://127.0.0.1/api/auth/testidp/callback".into()],
            any_port: true,
            accounts: serde_json::json!({}),
            id_token_claims: "full",
        }
    }
}

pub struct Idp {
    pub issuer: String,
    pub port: u16,
    pub client_id: String,
    pub client_secret: String,
    child: Child,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether node and the package are there (else `None`, or a panic under `CI=true`).
pub fn available() -> bool {
    let node_ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let package = manifest_dir().join("tests/browser/node_modules/oidc-provider/package.json");
    if node_ok && package.is_file() {
        return true;
    }
    let why = "the OIDC tests need `node` and the npm package oidc-provider (npm ci --prefix tests/browser)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {why}");
    }
    eprintln!("skipping: {why}");
    false
}

impl Idp {
    /// Starts a provider; `None` when node or the package is missing (outside CI).
    pub fn spawn(opts: IdpOptions) -> Option<Idp> {
        if !available() {
            return None;
        }
        let client_id = format!(
            "slugbase-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        // Characters that need encoding in HTTP Basic credentials, on purpose.
        let client_secret = format!("s3cr3t/+&={}", uuid::Uuid::new_v4().simple());
        let mut child = Command::new("node")
            .arg(manifest_dir().join("tests/browser/oidc-provider.mjs"))
            .env("PORT", "0")
            .env("HOST", opts.host)
            .env("CLIENT_ID", &client_id)
            .env("CLIENT_SECRET", &client_secret)
            .env("REDIRECT_URIS", opts.redirect_uris.join(","))
            .env("ANY_PORT", if opts.any_port { "1" } else { "0" })
            .env("ACCOUNTS", opts.accounts.to_string())
            .env("ID_TOKEN_CLAIMS", opts.id_token_claims)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Its event lines (`login "alice"`, never secrets) with SLUGBASE_TEST_IDP_LOG=1.
            .stderr(if std::env::var_os("SLUGBASE_TEST_IDP_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // Generous: start-up takes about a second, more on a busy machine.
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the OIDC provider did not start within 60 s");
            }
        };
        let Some(ready) = line.trim().strip_prefix("READY ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the OIDC provider did not start: {line:?}");
        };
        let ready: Value = serde_json::from_str(ready).expect("READY line is JSON");
        Some(Idp {
            issuer: ready["issuer"].as_str().expect("issuer").to_string(),
            port: ready["port"].as_u64().expect("port") as u16,
            client_id,
            client_secret,
            child,
        })
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago, so a server can be told its own public URL.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
