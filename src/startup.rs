//! Builds the application: database, migrations, listener and router. `Application::build` binds
//! the configured address (port 0 picks a free port, as the tests do).

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::db::{self, ConnectError, Db};
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Migrate(#[from] db::migrate_error::MigrateError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("{0}")]
    Upgrade(String),
}

pub struct Application {
    listener: TcpListener,
    front: crate::router::Front,
    state: AppState,
    addr: SocketAddr,
    /// Tells `slugbase restore` that a server has the SQLite file open.
    _in_use: Option<db::backup::ServerMark>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        // A SQLite file that is about to be upgraded is copied first; a newer one is refused
        // before anything touches it.
        let backup = match &config.db {
            crate::config::DbConfig::Sqlite { path } => db::inspect::prepare_sqlite(path)
                .await
                .map_err(StartupError::Upgrade)?,
            _ => None,
        };
        if let Some(b) = &backup {
            tracing::info!(backup = %b.display(), "backed up the database before upgrading it");
        }
        let db = Db::connect(&config.db).await?;
        let in_use = match &config.db {
            crate::config::DbConfig::Sqlite { path } => match db::backup::mark_in_use(path) {
                Ok(mark) => Some(mark),
                Err(e) => {
                    db.close().await;
                    return Err(StartupError::Upgrade(e.to_string()));
                }
            },
            _ => None,
        };
        let report = match db::migrate(&db).await {
            Ok(r) => r,
            Err(e) => {
                db.close().await;
                if let (Some(b), crate::config::DbConfig::Sqlite { path }) = (&backup, &config.db) {
                    db::inspect::restore_sqlite(path, b).map_err(StartupError::Upgrade)?;
                    return Err(StartupError::Upgrade(format!(
                        "{e}; the database was restored from {}",
                        b.display()
                    )));
                }
                return Err(e.into());
            }
        };
        if report.adopted_upstream {
            tracing::info!("recognised a database written by the original SlugBase; adopting its schema");
        }
        for name in &report.applied {
            tracing::info!(migration = name, "applied migration");
        }
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| StartupError::Bind(addr, e))?;
        let addr = listener.local_addr().map_err(|e| StartupError::Bind(addr, e))?;
        let state = AppState::new(config, db);
        let front = crate::router::Front::new(state.clone());
        Ok(Application {
            listener,
            front,
            state,
            addr,
            _in_use: in_use,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish and closes the
    /// database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let housekeeping = tokio::spawn(housekeeping(self.state.clone()));
        let flusher = tokio::spawn(flush_access_counts(self.state.clone()));
        let backups =
            match (&self.state.config.db, &self.state.config.backups) {
                (crate::config::DbConfig::Sqlite { path }, Some(b)) => Some(tokio::spawn(
                    db::backup::schedule(path.clone(), b.dir.clone(), b.interval, b.keep),
                )),
                (_, Some(_)) => {
                    tracing::warn!("BACKUP_DIR is for SQLite; back up PostgreSQL with pg_dump");
                    None
                }
                _ => None,
            };
        let links = tokio::spawn(crate::linkcheck::run(
            self.state.db.clone(),
            crate::metadata::Policy {
                allow: self.state.config.metadata_allow.clone(),
                ..Default::default()
            },
            self.state.config.link_check,
            self.state.link_check_wake.clone(),
        ));
        // Several instances on one PostgreSQL: what one changes, the others stop caching at once.
        let changes = match &self.state.db {
            Db::Postgres(pool) => {
                let state = self.state.clone();
                Some(tokio::spawn(db::changes::follow(pool.clone(), move |_| {
                    state.invalidate_caches()
                })))
            }
            Db::Sqlite(_) => None,
        };
        let (stop_mail, mail_stop) = tokio::sync::watch::channel(false);
        let sender = tokio::spawn(crate::mail::outbox::run(
            self.state.db.clone(),
            self.state.mailer.clone(),
            mail_stop,
        ));
        let limits = self.state.config.limits;
        let result = crate::serve::serve(self.listener, self.front, limits, shutdown).await;
        housekeeping.abort();
        flusher.abort();
        links.abort();
        if let Some(backups) = backups {
            backups.abort();
        }
        if let Some(changes) = changes {
            changes.abort();
        }
        // The mail sender finishes the message in flight (and records it as sent), so a restart
        // sends nothing twice.
        let _ = stop_mail.send(true);
        if tokio::time::timeout(std::time::Duration::from_secs(30), sender)
            .await
            .is_err()
        {
            tracing::warn!("the mail sender did not stop in time");
        }
        // In-flight requests are done: write the last go-link visits before closing.
        if let Err(e) = self
            .state
            .access
            .flush(&self.state.db, &self.state.background)
            .await
        {
            tracing::error!(error = %e, "could not write the last access counts");
        }
        self.state.background.reset().await;
        self.state.db.close().await;
        result
    }
}

/// Writes gathered go-link visits every second.
async fn flush_access_counts(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        match state.access.flush(&state.db, &state.background).await {
            Ok(0) => {}
            Ok(n) => {
                if let Some(m) = &state.metrics {
                    m.visit_flushes.inc();
                    m.visit_rows_flushed.inc_by(n as u64);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not write access counts; will retry"),
        }
    }
}

/// Periodic clean-up: expired sessions, old rate-limit windows and old outbox rows (every 10
/// minutes); go-link tables not used lately and freed heap memory back to the system (every 30
/// seconds).
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        // Go-link tables nobody used lately are let go of first, so their memory goes back too;
        // freeing them and trimming the heap take milliseconds: not on a thread that serves
        // requests.
        let idle_tables = state.go_cache.take_idle();
        let _ = crate::error::off_thread(move || {
            drop(idle_tables);
            crate::telemetry::release_free_memory();
        })
        .await;
        n += 1;
        if n % 20 != 1 {
            continue;
        }
        if let Err(e) = crate::auth::sessions::purge_expired(&state.db).await {
            tracing::warn!(error = %e, "could not purge expired sessions");
        }
        if let Err(e) = crate::passkeys::store::purge_expired(&state.db).await {
            tracing::warn!(error = %e, "could not purge unfinished passkey ceremonies");
        }
        if let Err(e) = crate::auth::ratelimit::purge(&state.db).await {
            tracing::warn!(error = %e, "could not purge rate-limit counters");
        }
        if let Err(e) = crate::mail::outbox::purge(&state.db).await {
            tracing::warn!(error = %e, "could not purge old outbox rows");
        }
        if let Err(e) = crate::ai::suggest::purge(&state.db).await {
            tracing::warn!(error = %e, "could not purge old AI suggestions");
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
