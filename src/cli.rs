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
}

pub fn main() -> ExitCode {
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
