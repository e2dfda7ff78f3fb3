//! The `slugbase` command line: `serve` (the default) and admin tasks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{process_env, Config};
use crate::startup::{shutdown_signal, Application};

#[derive(Parser, Debug)]
#[command(
    name = "slugbase",
    version,
    about = "SlugBase: bookmarks and go links, self-hosted"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Account administration.
    #[command(subcommand)]
    User(UserCommand),
    /// Report what is in the configured database (schema version, counts, unreadable secrets)
    /// without changing it.
    Doctor,
    /// Ask the server running on this machine (`PORT`) whether it is healthy: exit code 0 when
    /// `/api/health` answers 200 within 5 s, 1 otherwise. For container health checks in images
    /// without a shell or curl.
    Healthcheck,
    /// Write a consistent copy of the SQLite database to FILE while the server keeps serving,
    /// and check it (integrity, row counts). PostgreSQL: use pg_dump.
    Backup {
        /// Where to write the copy (must not exist yet).
        file: std::path::PathBuf,
    },
    /// Put a backup in place of the SQLite database. Refused while a server has the database
    /// open; the replaced database is kept beside it.
    Restore {
        /// A file written by `slugbase backup`.
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Turn off MFA for a user who lost their authenticator and backup codes (ends their sessions).
    ResetMfa {
        /// The user's e-mail address.
        email: String,
    },
}

pub fn main() -> ExitCode {
    crate::telemetry::tune_allocator();
    let cli = Cli::parse();
    let env = process_env();
    if let Some(Command::Healthcheck) = cli.command {
        // Needs no configuration beyond the port (and no database), so it runs before either.
        return healthcheck(env.get("PORT").map(String::as_str));
    }
    let config = match Config::from_env(&env) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    crate::telemetry::init(config.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::User(UserCommand::ResetMfa { email }) => reset_mfa(config, &email).await,
            Command::Doctor => doctor(config).await,
            Command::Backup { file } => backup(config, &file).await,
            Command::Restore { file } => restore(config, &file).await,
            Command::Healthcheck => unreachable!("answered before the configuration is read"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => fail(&msg),
    }
}

/// `GET /api/health` on the loopback interface, with plain blocking I/O.
fn healthcheck(port: Option<&str>) -> ExitCode {
    use std::io::{Read, Write};
    use std::time::Duration;
    let port: u16 = match port.unwrap_or("5000").trim().parse() {
        Ok(p) => p,
        Err(_) => return fail("PORT is not a port number"),
    };
    let ask = || -> std::io::Result<bool> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.set_write_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200"))
    };
    match ask() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => fail("the server answered, but is not healthy"),
        Err(e) => fail(&format!("no answer from the server on port {port}: {e}")),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("slugbase: error: {msg}");
    ExitCode::from(1)
}

async fn serve(config: Config) -> Result<(), String> {
    let db_kind = config.db.kind();
    let generated = config.generated_secrets.clone();
    let app = Application::build(config).await.map_err(|e| e.to_string())?;
    for key in generated {
        tracing::warn!(
            "{key} was not set: generated one for development and saved it next to the database. \
             Set {key} yourself before exposing this instance."
        );
    }
    tracing::info!(address = %app.local_addr(), database = db_kind, "SlugBase is listening");
    app.run_until(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// Opens (and migrates) the database without serving.
async fn open_db(config: &Config) -> Result<crate::db::Db, String> {
    let db = crate::db::Db::connect(&config.db)
        .await
        .map_err(|e| e.to_string())?;
    crate::db::migrate(&db).await.map_err(|e| e.to_string())?;
    Ok(db)
}

async fn reset_mfa(config: Config, email: &str) -> Result<(), String> {
    let db = open_db(&config).await?;
    let user = crate::users::by_email(&db, email)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user with the e-mail address {email}"))?;
    let origin = crate::audit::Origin {
        ip: "cli".into(),
        user_agent: Some("slugbase user reset-mfa".into()),
    };
    crate::admin::members::reset_mfa(&db, &origin, None, &user.id, "cli")
        .await
        .map_err(|e| e.to_string())?;
    db.close().await;
    println!("MFA is now off for {} and their sessions have ended.", user.email);
    Ok(())
}

fn sqlite_path(config: &Config, what: &str) -> Result<std::path::PathBuf, String> {
    match &config.db {
        crate::config::DbConfig::Sqlite { path } => Ok(path.clone()),
        _ => Err(format!(
            "{what} is for SQLite; back up PostgreSQL with pg_dump and pg_restore (see the README)"
        )),
    }
}

async fn backup(config: Config, file: &std::path::Path) -> Result<(), String> {
    let db = sqlite_path(&config, "backup")?;
    let summary = crate::db::backup::backup(&db, file).await?;
    println!("backed up {} to {}: {summary}", db.display(), file.display());
    Ok(())
}

async fn restore(config: Config, file: &std::path::Path) -> Result<(), String> {
    let db = sqlite_path(&config, "restore")?;
    let done = crate::db::backup::restore(&db, file).await?;
    println!(
        "restored {} from {}: {}",
        db.display(),
        file.display(),
        done.summary
    );
    if let Some(previous) = done.previous {
        println!("the replaced database is kept as {}", previous.display());
    }
    Ok(())
}

async fn doctor(config: Config) -> Result<(), String> {
    let cipher = crate::crypto::Cipher::new(config.encryption_key);
    let report = crate::db::inspect::inspect(&config.db, Some(&cipher)).await?;
    print!("{report}");
    if report.too_new() {
        return Err("the database is newer than this SlugBase".into());
    }
    Ok(())
}
