//! A real SMTP server for the mail tests: `tests/mail/smtp_sink.py` (Python's aiosmtpd) in its
//! own process, writing each message it accepts as a JSON file. The tests read what it received.
//!
//! Needs `python3` (or `$SLUGBASE_TEST_PYTHON`) with aiosmtpd (`.ci/run` installs it). Without it
//! the mail tests say why and skip — except under `CI=true`, where they fail.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct SmtpSink {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    args: Vec<String>,
}

fn python() -> String {
    std::env::var("SLUGBASE_TEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mail/smtp_sink.py")
}

/// Whether the sink can run here; otherwise prints why (and panics under `CI=true`).
pub fn available() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    let why = format!(
        "the mail tests need `{}` with aiosmtpd (python3 -m pip install aiosmtpd==1.4.6, or set SLUGBASE_TEST_PYTHON)",
        python()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {why}");
    }
    eprintln!("skipping: {why}");
    false
}

impl SmtpSink {
    /// Starts a sink on a free port with `args` (e.g. `["--starttls", cert, key]`).
    pub fn start(args: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().expect("sink directory");
        Self::spawn(0, dir, args.iter().map(|s| s.to_string()).collect())
    }

    /// A sink that is not running yet, on a port nothing listens on: [`SmtpSink::resume`] starts it.
    pub fn down(args: &[&str]) -> SmtpSink {
        SmtpSink {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().expect("sink directory"),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn spawn(port: u16, dir: tempfile::TempDir, args: Vec<String>) -> SmtpSink {
        let mut child = Command::new(python())
            .arg(script())
            .args(["--port", &port.to_string(), "--out"])
            .arg(dir.path())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (see .ci/run)");
        let mut line = String::new();
        let out = child.stdout.take().expect("sink stdout");
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("the sink's READY line");
        let ready: Value = serde_json::from_str(
            line.trim()
                .strip_prefix("READY ")
                .unwrap_or_else(|| panic!("the sink did not start: {line:?}")),
        )
        .expect("READY json");
        SmtpSink {
            child: Some(child),
            port: ready["port"].as_u64().expect("port") as u16,
            dir,
            args,
        }
    }

    pub fn port_s(&self) -> String {
        self.port.to_string()
    }

    /// Stops the sink (SIGTERM): the port refuses connections until [`SmtpSink::resume`].
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child process.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let _ = c.wait();
        }
    }

    /// Starts the sink again on the same port, writing into the same directory.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "the sink is running");
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        let next = Self::spawn(self.port, dir, std::mem::take(&mut self.args));
        *self = next;
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("sink directory")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                let bytes = std::fs::read(self.dir.path().join(n)).expect("message file");
                serde_json::from_slice(&bytes).expect("message json")
            })
            .collect()
    }

    /// Waits (up to `within`) until at least `n` messages arrived; returns them all.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let end = tokio::time::Instant::now() + within;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if tokio::time::Instant::now() >= end {
                panic!(
                    "waited {} s for {n} messages, got {}: {:?}",
                    within.as_secs(),
                    got.len(),
                    got.iter().map(|m| &m["parsed"]["subject"]).collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for a message to `to` (up to a generous minute) and returns the latest one.
    pub async fn wait_for_to(&self, to: &str, subject: &str) -> Value {
        self.wait_for_new(0, to, subject).await
    }

    /// Like [`SmtpSink::wait_for_to`], ignoring the first `seen` messages.
    pub async fn wait_for_new(&self, seen: usize, to: &str, subject: &str) -> Value {
        let end = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(m) = self
                .messages()
                .into_iter()
                .skip(seen)
                .rev()
                .find(|m| recipient(m) == to && m["parsed"]["subject"] == subject)
            {
                return m;
            }
            if tokio::time::Instant::now() >= end {
                panic!(
                    "no message {subject:?} to {to} within 60 s; got {:?}",
                    self.messages()
                        .iter()
                        .map(|m| format!("{} {}", recipient(m), m["parsed"]["subject"]))
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The envelope recipient of a received message.
pub fn recipient(m: &Value) -> String {
    m["rcpt_tos"][0].as_str().unwrap_or("").to_string()
}

/// The token of the first `…?token=<hex>` link in the message's text part.
pub fn token(m: &Value) -> String {
    let text = m["parsed"]["text"].as_str().expect("a text part");
    let at = text.find("token=").expect("a link with a token") + "token=".len();
    text[at..].chars().take_while(|c| c.is_ascii_hexdigit()).collect()
}

/// A self-signed certificate for `localhost` and 127.0.0.1 that rustls accepts (CA:FALSE, a
/// server-auth leaf): `(dir, cert.pem, key.pem)`.
pub fn self_signed_cert() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("cert dir");
    let cert = dir.path().join("cert.pem").display().to_string();
    let key = dir.path().join("key.pem").display().to_string();
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl made the test certificate");
    (dir, cert, key)
}

/// A port nothing listens on right now (for "the SMTP server is down").
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
