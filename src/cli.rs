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
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => fail(&msg),
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

async fn doctor(config: Config) -> Result<(), String> {
    let cipher = crate::crypto::Cipher::new(config.encryption_key);
    let report = crate::db::inspect::inspect(&config.db, Some(&cipher)).await?;
    print!("{report}");
    if report.too_new() {
        return Err("the database is newer than this SlugBase".into());
    }
    Ok(())
}
