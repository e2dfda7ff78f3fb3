//! The server as a process of its own (the binary Cargo built), for the tests that kill it or
//! take its database away: started on a free port, checked for health, killed with SIGKILL or
//! stopped with SIGTERM.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{Backend, ADMIN_EMAIL, PASSWORD};

pub struct Server {
    pub base: String,
    child: Child,
    env: HashMap<String, String>,
}

impl Server {
    /// Starts the server on `db` (a SQLite path or a PostgreSQL URL), with `extra` settings.
    pub async fn start(backend: Backend, db: &str, extra: &[(&str, &str)]) -> Server {
        let port = super::cluster::free_port().to_string();
        let mut all: Vec<(&str, &str)> = vec![("PORT", port.as_str()), ("RUST_LOG", "warn")];
        all.extend_from_slice(extra);
        let env = super::test_env(backend, db, &all);
        Self::spawn(env).await
    }

    async fn spawn(env: HashMap<String, String>) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_slugbase"))
            .env_clear()
            .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
            .envs(&env)
            // SLUGBASE_TEST_SERVER_LOG=1 shows the server's log (it writes to stdout).
            .stdout(if std::env::var_os("SLUGBASE_TEST_SERVER_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        let base = format!("http://127.0.0.1:{}", env["PORT"]);
        let server = Server { base, child, env };
        server.wait_healthy(Duration::from_secs(60)).await;
        server
    }

    /// Starts the same server again (same port, same database).
    pub async fn restart(self) -> Server {
        let env = self.env.clone();
        drop(self);
        Self::spawn(env).await
    }

    pub async fn wait_healthy(&self, limit: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(r) = client.get(format!("{}/api/health", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The settings it runs with (for the command line's subcommands).
    pub fn env(&self) -> HashMap<String, String> {
        self.env.clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the graceful stop.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("the server did not stop within a minute of SIGTERM");
    }

    /// First-run setup and an API token: the bearer credential for the test's requests.
    pub async fn admin_token(&self) -> String {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client");
        let res = client
            .post(format!("{}/api/auth/setup", self.base))
            .json(&json!({"email": ADMIN_EMAIL, "name": "Admin", "password": PASSWORD}))
            .send()
            .await
            .expect("setup");
        assert_eq!(res.status(), 200, "setup");
        let csrf: Value = client
            .get(format!("{}/api/csrf-token", self.base))
            .send()
            .await
            .expect("csrf")
            .json()
            .await
            .expect("csrf json");
        let tok: Value = client
            .post(format!("{}/api/tokens", self.base))
            .header("X-CSRF-Token", csrf["csrfToken"].as_str().unwrap_or_default())
            .json(&json!({"name": "faults"}))
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token json");
        tok["token"].as_str().expect("a token").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `slugbase <args>` (the binary Cargo built) with the settings `env`, to its end.
pub fn cli(env: &HashMap<String, String>, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_slugbase"))
        .args(args)
        .env_clear()
        .envs(std::env::vars().filter(|(k, _)| k == "PATH" || k == "HOME"))
        .envs(env)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the slugbase binary")
}
