//! Browser scenarios: the web UI in a real headless Chromium, driven by Playwright
//! (`tests/browser/`, playwright-core with Debian's `chromium`). Each scenario gets a fresh
//! server (fresh SQLite database, so the first-run setup page is reachable) and runs as
//! `node tests/browser/run.mjs <scenario>`; scenarios run one at a time. Screenshots of every page
//! visited, and of a failure, go to `target/screenshots/<scenario>-NN-<name>.png` /
//! `<scenario>-FAIL.png`, with the scenario's output in `<scenario>.log`.
//!
//! Needs `node`, Chromium (`/usr/bin/chromium` or `$CHROMIUM`) and `npm ci --prefix tests/browser`.
//! Without them the scenarios print why and skip — except under `CI=true`, where they fail.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, TestApp};

/// The Rust side's limit per scenario; run.mjs stops itself at 110 s to leave its screenshot.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);

/// One scenario at a time: one Chromium and one server on a 2-core machine are plenty.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$CARGO_TARGET_DIR/screenshots` (relative target dirs taken from the crate root), else
/// `target/screenshots`.
fn screenshot_dir() -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => {
            let t = PathBuf::from(t);
            if t.is_absolute() {
                t
            } else {
                manifest_dir().join(t)
            }
        }
        _ => manifest_dir().join("target"),
    };
    target.join("screenshots")
}

struct Tools {
    node: String,
    chromium: PathBuf,
}

/// Node, Chromium and the npm packages, or `None` with the reason printed. Under `CI=true` a
/// missing piece fails the test: the scenarios must really run in CI.
fn tools() -> Option<Tools> {
    let chromium = std::env::var_os("CHROMIUM")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let node = std::env::var("NODE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "node".into());
    let mut missing = Vec::new();
    if !chromium.is_file() {
        missing.push(format!(
            "Chromium at {} (apt-get install chromium, or set CHROMIUM)",
            chromium.display()
        ));
    }
    let node_ok = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node_ok {
        missing.push(format!("`{node}` (apt-get install nodejs, or set NODE)"));
    }
    for package in ["playwright-core", "axe-core"] {
        let installed = manifest_dir().join(format!("tests/browser/node_modules/{package}/package.json"));
        if !installed.is_file() {
            missing.push(format!("{package} (npm ci --prefix tests/browser)"));
        }
    }
    if missing.is_empty() {
        return Some(Tools { node, chromium });
    }
    let why = format!("the browser scenarios need {}", missing.join("; "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {why}");
    }
    eprintln!("skipping: {why}");
    None
}

/// A port that was free a moment ago, so the server can be told its own public URL.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs node until it exits or the time is up (then its whole process group, Chromium included,
/// is killed). Output goes to `log`.
fn run_node(
    tools: &Tools,
    scenario: &str,
    base: &str,
    shots: &Path,
    log: &Path,
    env: &[(String, String)],
) -> Result<(), String> {
    let out = fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&tools.node);
    cmd.arg("tests/browser/run.mjs")
        .arg(scenario)
        .current_dir(manifest_dir())
        .env("BASE_URL", base)
        .env("SCREENSHOT_DIR", shots)
        .env("CHROMIUM", &tools.chromium)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| format!("starting {}: {e}", tools.node))?;
    let started = Instant::now();
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > SCENARIO_TIMEOUT => {
                #[cfg(unix)]
                // SAFETY: kill(2) on the process group created above for this child.
                unsafe {
                    libc::kill(-(child.id() as i32), libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", SCENARIO_TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for node: {e}")),
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("node exited with {status}"))
    }
}

/// Starts a fresh server and runs `tests/browser/scenarios/<name>.mjs` against it. Scenarios
/// that read mail (`MAIL`) get an SMTP sink (`tests/mail/smtp_sink.py`) the server sends to; its
/// messages are JSON files in `$MAIL_DIR`.
async fn scenario(name: &str) {
    scenario_on(free_port(), name, None, Vec::new()).await;
}

/// An OpenID Provider for a scenario: its address for the server's `OIDC_ALLOW_HOSTS`, and
/// what the scenario needs to know of it.
struct ScenarioIdp {
    allow: &'static str,
    env: Vec<(String, String)>,
}

/// Like [`scenario`], with the server on `port`; with `idp`, the server may reach the provider
/// and the scenario gets its settings in the environment, as it gets `node_env`.
async fn scenario_on(port: u16, name: &str, idp: Option<ScenarioIdp>, node_env: Vec<(String, String)>) {
    let Some(tools) = tools() else { return };
    let _one = ONE_AT_A_TIME.lock().await;

    // Browsers refuse an IP address as a WebAuthn relying party: scenarios that use passkeys
    // (or check their page) reach the server as `localhost`.
    let host = if on_localhost(name) {
        "localhost"
    } else {
        "127.0.0.1"
    };
    let base = format!("http://{host}:{port}");
    let port_s = port.to_string();
    let sink = if MAIL.contains(&name) {
        if !common::smtp::available() {
            return;
        }
        Some(common::smtp::SmtpSink::start(&[]))
    } else {
        None
    };
    let mut extra = vec![("PORT", port_s.as_str()), ("BASE_URL", base.as_str())];
    if let Some(i) = &idp {
        extra.push(("OIDC_ALLOW_HOSTS", i.allow));
    }
    let sink_port = sink.as_ref().map(|s| s.port_s()).unwrap_or_default();
    if sink.is_some() {
        extra.extend([
            ("SMTP_HOST", "127.0.0.1"),
            ("SMTP_PORT", sink_port.as_str()),
            ("SMTP_TLS", "none"),
            ("SMTP_FROM", "noreply@example.com"),
        ]);
    }
    let mut env = idp.map(|i| i.env).unwrap_or_default();
    env.extend(node_env);
    if let Some(sink) = &sink {
        env.push(("MAIL_DIR".to_string(), sink.dir.path().display().to_string()));
    }
    let app = TestApp::spawn_with(Backend::Sqlite, &extra)
        .await
        .expect("SQLite test server");
    assert_eq!(
        app.base,
        format!("http://127.0.0.1:{port}"),
        "the server listens where it was told"
    );

    let shots = screenshot_dir();
    fs::create_dir_all(&shots).expect("screenshot directory");
    // Pictures of an earlier run of this scenario would be mistaken for this one's.
    for entry in fs::read_dir(&shots).expect("screenshot directory").flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&format!("{name}-")) && file.ends_with(".png") {
            let _ = fs::remove_file(entry.path());
        }
    }
    let log = shots.join(format!("{name}.log"));

    let outcome = {
        let (name, base, shots, log) = (name.to_string(), base.clone(), shots.clone(), log.clone());
        // Blocking wait off the runtime's workers, so the server keeps serving meanwhile.
        tokio::task::spawn_blocking(move || run_node(&tools, &name, &base, &shots, &log, &env))
            .await
            .expect("node runner")
    };
    app.finish().await;

    let output = fs::read_to_string(&log).unwrap_or_default();
    match outcome {
        Ok(()) => println!("{output}"),
        Err(why) => panic!(
            "browser scenario `{name}` failed: {why}\nscreenshots: {}/{name}-*.png\n--- node output ---\n{output}",
            shots.display()
        ),
    }
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                scenario(stringify!($name)).await;
            }
        )*
    };
}

/// Scenarios that read the mail the server sends.
const MAIL: &[&str] = &["forgot_password"];

/// Scenarios whose server's `BASE_URL` is `http://localhost:<port>`, so that passkeys are on.
fn on_localhost(name: &str) -> bool {
    name == "passkeys" || (name.starts_with("a11y_") && name.ends_with("_account"))
}

scenarios!(
    smoke,
    golink,
    mfa,
    import,
    prefs,
    sharing,
    phone,
    pages,
    keyboard,
    forgot_password,
    passkeys
);

// Accessibility (axe-core, WCAG 2.0/2.1 A and AA): every page and dialog in each theme and
// language at desktop width and 375 px, in two parts each so that one stays well within the
// time limit (`tests/browser/a11y.mjs`).
scenarios!(
    a11y_light_en_library,
    a11y_light_en_account,
    a11y_light_de_library,
    a11y_light_de_account,
    a11y_dark_en_library,
    a11y_dark_en_account,
    a11y_dark_de_library,
    a11y_dark_de_account,
);

/// Sign-in through a real OpenID Provider's login page. The provider runs on 127.0.0.2, another
/// site than the app on 127.0.0.1 for the browser, as in a real deployment (the login-state
/// cookie must survive the cross-site redirect back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc() {
    if tools().is_none() {
        return;
    }
    // The app's port must be known to register the callback: reserve it here.
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/api/auth/testidp/callback");
    let idp = tokio::task::spawn_blocking(move || {
        common::idp::Idp::spawn(common::idp::IdpOptions {
            host: "127.0.0.2",
            redirect_uris: vec![callback],
            any_port: false,
            accounts: serde_json::json!({
                "alice": {"email": "alice@example.com", "email_verified": true, "name": "Alice Example"},
            }),
            id_token_claims: "full",
        })
    })
    .await
    .expect("provider start");
    let Some(idp) = idp else { return };
    let env = vec![
        ("OIDC_ISSUER".to_string(), idp.issuer.clone()),
        ("OIDC_CLIENT_ID".to_string(), idp.client_id.clone()),
        ("OIDC_CLIENT_SECRET".to_string(), idp.client_secret.clone()),
    ];
    scenario_on(
        port,
        "oidc",
        Some(ScenarioIdp {
            allow: "127.0.0.2",
            env,
        }),
        Vec::new(),
    )
    .await;
    tokio::task::spawn_blocking(move || drop(idp))
        .await
        .expect("provider stop");
}

/// AI suggestions with a local stand-in for an OpenAI-compatible server: the admin configures
/// it on the settings page (list models, test), "Suggest" in the create dialog fills title, slug
/// and tags, and the profile's switch hides the button again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ai_suggest() {
    if tools().is_none() {
        return;
    }
    let fake = common::ai::FakeAi::start().await;
    fake.reply(common::ai::Reply::Content(common::ai::suggestion(
        "Example Domain",
        "example-domain",
        &["docs", "reference"],
    )));
    let env = vec![("AI_FAKE_BASE".to_string(), fake.base.clone())];
    scenario_on(free_port(), "ai_suggest", None, env).await;
    assert!(
        fake.chat_calls() >= 2,
        "the test button and Suggest reached the model"
    );
}
