//! Configuration from environment variables, with the original SlugBase's names so that an existing
//! deployment's `.env` keeps working. Every problem is a [`ConfigError`] with a one-line message.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod ai;

use rand::RngCore;
use sha2::{Digest, Sha256};

mod backups;
mod hosts;
mod limits;
mod links;
mod smtp;

pub use backups::BackupConfig;
pub use hosts::AllowHosts;
pub use limits::HttpLimits;
pub use links::LinkCheckConfig;
pub use smtp::{SmtpEnv, SmtpTls};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

#[derive(Clone, Debug)]
pub enum DbConfig {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

impl DbConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            DbConfig::Sqlite { .. } => "sqlite",
            DbConfig::Postgres { .. } => "postgresql",
        }
    }
}

/// Which peers may tell us the client's address through `X-Forwarded-For`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustProxy {
    /// Use the TCP peer address; ignore `X-Forwarded-For` (the safe default).
    None,
    /// Trust this many proxy hops: the client is the entry that many places from the right.
    Hops(usize),
}

#[derive(Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub base_url: String,
    pub frontend_url: String,
    pub db: DbConfig,
    pub jwt_secret: String,
    pub jwt_expires_in: Duration,
    pub session_secret: String,
    /// The 32-byte master key derived from `ENCRYPTION_KEY` the way the original does.
    pub encryption_key: [u8; 32],
    /// `REGISTRATIONS_ENABLED` as given; `None` leaves the decision to the admin setting (default off).
    pub registrations_enabled: Option<bool>,
    pub mfa_issuer: String,
    pub production: bool,
    pub log_json: bool,
    pub trust_proxy: TrustProxy,
    pub api_docs: bool,
    /// Scheduled SQLite backups (`BACKUP_DIR`, `BACKUP_INTERVAL`, `BACKUP_KEEP`).
    pub backups: Option<BackupConfig>,
    /// The dead-link checker (`LINK_CHECK_*`).
    pub link_check: LinkCheckConfig,
    /// `METRICS_ENABLED`: serve Prometheus metrics at `/metrics` (off by default).
    pub metrics_enabled: bool,
    /// `METRICS_TOKEN`: when set, `/metrics` asks for `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    pub cors_origins: Vec<String>,
    pub commit_sha: Option<String>,
    /// Largest accepted JSON body (the original's 10 MiB).
    pub max_body_bytes: usize,
    /// Largest accepted import body.
    pub max_import_bytes: usize,
    /// Addresses the page-metadata fetcher may contact although they are private
    /// (`METADATA_ALLOW_HOSTS`, comma-separated IPs), e.g. an intranet wiki.
    pub metadata_allow: Vec<IpAddr>,
    /// Identity providers on a private network the OIDC client may reach (`OIDC_ALLOW_HOSTS`,
    /// comma-separated host names or IPs), e.g. Keycloak at 192.168.1.20 or `auth.home.lan`.
    pub oidc_allow: AllowHosts,
    /// `/go` requests per user per minute (`GO_RATE_LIMIT`, 0 = unlimited).
    pub go_rate_limit: u32,
    /// Limits on connections and slow clients.
    pub limits: HttpLimits,
    /// Secrets that were generated for this development instance (logged loudly at start).
    pub generated_secrets: Vec<&'static str>,
    /// Outgoing mail from `SMTP_*`; when set it wins over the admin settings.
    pub smtp: Option<SmtpEnv>,
    /// Extra root certificates (PEM) to trust for the SMTP server (`SMTP_CA_FILE`).
    pub smtp_ca_pem: Option<Vec<u8>>,
    /// AI suggestions: the endpoint from `AI_*`, if set, and the limits of every request.
    pub ai: ai::AiConfig,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("base_url", &self.base_url)
            .field("db", &self.db.kind())
            .field("production", &self.production)
            .finish_non_exhaustive()
    }
}

/// A source of settings: the process environment merged with a `.env` file, or a map in tests.
pub type Env = HashMap<String, String>;

/// The process environment, with `./.env` (if present) filling in what is not set.
pub fn process_env() -> Env {
    let mut env: Env = HashMap::new();
    if let Ok(iter) = dotenvy::from_path_iter(".env") {
        for (k, v) in iter.flatten() {
            env.insert(k, v);
        }
    }
    for (k, v) in std::env::vars() {
        env.insert(k, v);
    }
    env
}

pub(crate) fn get<'a>(env: &'a Env, key: &str) -> Option<&'a str> {
    env.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
}

pub(crate) fn parse_bool(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => err(format!("{key} must be true or false, got {v:?}")),
    }
}

/// Parses the original's `JWT_EXPIRES_IN` syntax: a number of seconds, or `<n><unit>` with
/// unit `s`, `m`, `h`, `d` or `w`.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let split = v.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return None,
    };
    n.checked_mul(mult).map(Duration::from_secs)
}

/// Derives the master key the way the original does: 64 characters are hex, anything else is
/// stretched with scrypt and the fixed salt `slugbase-salt`.
pub fn derive_master_key(raw: &str) -> Result<[u8; 32], ConfigError> {
    let mut key = [0u8; 32];
    if raw.len() == 64 {
        hex::decode_to_slice(raw, &mut key)
            .map_err(|_| ConfigError("ENCRYPTION_KEY has 64 characters but is not valid hex".into()))?;
        return Ok(key);
    }
    let params =
        scrypt::Params::new(14, 8, 1, 32).map_err(|e| ConfigError(format!("scrypt parameters: {e}")))?;
    scrypt::scrypt(raw.as_bytes(), b"slugbase-salt", &params, &mut key)
        .map_err(|e| ConfigError(format!("ENCRYPTION_KEY could not be derived: {e}")))?;
    Ok(key)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

impl Config {
    /// Reads the configuration. In development mode, missing secrets are generated once and kept in
    /// `secrets_dir/.slugbase-secrets` so sessions survive restarts.
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        let mode = get(env, "SLUGBASE_ENV")
            .or_else(|| get(env, "NODE_ENV"))
            .unwrap_or("development")
            .to_ascii_lowercase();
        let production = mode == "production";

        let port = match get(env, "PORT") {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| ConfigError(format!("PORT must be a port number, got {p:?}")))?,
            None => 5000,
        };
        let host = match get(env, "HOST") {
            Some(h) => h
                .parse::<IpAddr>()
                .map_err(|_| ConfigError(format!("HOST must be an IP address, got {h:?}")))?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let base_url = get(env, "BASE_URL")
            .map(|s| s.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://localhost:{port}"));
        validate_url("BASE_URL", &base_url)?;
        let frontend_url = get(env, "FRONTEND_URL")
            .map(|s| s.trim_end_matches('/').to_string())
            .unwrap_or_else(|| base_url.clone());
        validate_url("FRONTEND_URL", &frontend_url)?;

        let db = match get(env, "DB_TYPE")
            .unwrap_or("sqlite")
            .to_ascii_lowercase()
            .as_str()
        {
            "sqlite" => DbConfig::Sqlite {
                path: PathBuf::from(get(env, "DB_PATH").unwrap_or("./data/slugbase.db")),
            },
            "postgres" | "postgresql" | "pg" => {
                let url = match get(env, "DATABASE_URL") {
                    Some(u) => u.to_string(),
                    None => {
                        let host = get(env, "DB_HOST").unwrap_or("localhost");
                        let port = get(env, "DB_PORT").unwrap_or("5432");
                        let name = get(env, "DB_NAME").unwrap_or("slugbase");
                        let user = get(env, "DB_USER").unwrap_or("postgres");
                        let pass = get(env, "DB_PASSWORD").unwrap_or("");
                        let mut u = url::Url::parse("postgres://localhost/")
                            .map_err(|e| ConfigError(e.to_string()))?;
                        u.set_host(Some(host))
                            .map_err(|_| ConfigError(format!("DB_HOST is not a host: {host:?}")))?;
                        let port: u16 = port
                            .parse()
                            .map_err(|_| ConfigError(format!("DB_PORT must be a port, got {port:?}")))?;
                        let _ = u.set_port(Some(port));
                        let _ = u.set_username(user);
                        if !pass.is_empty() {
                            let _ = u.set_password(Some(pass));
                        }
                        u.set_path(name);
                        u.to_string()
                    }
                };
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return err("DATABASE_URL must start with postgres:// or postgresql://");
                }
                DbConfig::Postgres { url }
            }
            other => return err(format!("DB_TYPE must be sqlite or postgresql, got {other:?}")),
        };

        let secrets_dir = match &db {
            DbConfig::Sqlite { path } => path
                .parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from(".")),
            DbConfig::Postgres { .. } => PathBuf::from("./data"),
        };

        let mut generated = Vec::new();
        let mut stored: Option<HashMap<String, String>> = None;
        let mut secret = |key: &'static str, make: fn() -> String| -> Result<String, ConfigError> {
            if let Some(v) = get(env, key) {
                return Ok(v.to_string());
            }
            if production {
                return err(format!(
                    "{key} is not set; production mode needs it (see README, Configuration)"
                ));
            }
            let store = match &mut stored {
                Some(s) => s,
                None => stored.insert(load_secret_file(&secrets_dir)?),
            };
            if let Some(v) = store.get(key) {
                return Ok(v.clone());
            }
            let v = make();
            store.insert(key.to_string(), v.clone());
            save_secret_file(&secrets_dir, store)?;
            generated.push(key);
            Ok(v)
        };
        let jwt_secret = secret("JWT_SECRET", || random_hex(32))?;
        let session_secret = match get(env, "SESSION_SECRET") {
            Some(v) => v.to_string(),
            None if production => {
                return err("SESSION_SECRET is not set; production mode needs it (at least 32 characters)")
            }
            None => secret("SESSION_SECRET", || random_hex(32))?,
        };
        let encryption_raw = secret("ENCRYPTION_KEY", || random_hex(32))?;

        if jwt_secret.len() < 32 || jwt_secret == "slugbase-jwt-secret-change-in-production" {
            return err("JWT_SECRET must be at least 32 characters (and not the example value)");
        }
        if production && session_secret.len() < 32 {
            return err("SESSION_SECRET must be at least 32 characters");
        }
        if encryption_raw.len() < 32 {
            return err("ENCRYPTION_KEY must be 64 hex characters (or at least 32 characters)");
        }
        if production
            && !(encryption_raw.len() == 64 && encryption_raw.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return err("ENCRYPTION_KEY must be 64 hex characters (32 bytes) in production");
        }
        let encryption_key = derive_master_key(&encryption_raw)?;

        let jwt_expires_in = match get(env, "JWT_EXPIRES_IN") {
            Some(v) => parse_duration(v).filter(|d| d.as_secs() > 0).ok_or_else(|| {
                ConfigError(format!("JWT_EXPIRES_IN is not a duration like 7d or 12h: {v:?}"))
            })?,
            None => Duration::from_secs(7 * 86_400),
        };
        let registrations_enabled = get(env, "REGISTRATIONS_ENABLED")
            .map(|v| parse_bool("REGISTRATIONS_ENABLED", v))
            .transpose()?;
        let mfa_issuer = get(env, "MFA_ISSUER_NAME").unwrap_or("SlugBase").to_string();
        let log_json = get(env, "LOG_FORMAT")
            .map(|v| v.eq_ignore_ascii_case("json"))
            .unwrap_or(false);
        let trust_proxy = match get(env, "TRUST_PROXY") {
            None => TrustProxy::None,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "false" | "0" | "no" | "off" => TrustProxy::None,
                "true" | "yes" | "on" => TrustProxy::Hops(1),
                n => match n.parse::<usize>() {
                    Ok(0) => TrustProxy::None,
                    Ok(h) => TrustProxy::Hops(h),
                    Err(_) => {
                        return err(format!(
                            "TRUST_PROXY must be false, true or a hop count, got {v:?}"
                        ))
                    }
                },
            },
        };
        let api_docs = get(env, "SLUGBASE_API_DOCS")
            .map(|v| parse_bool("SLUGBASE_API_DOCS", v))
            .transpose()?
            .unwrap_or(true);
        let metrics_enabled = get(env, "METRICS_ENABLED")
            .map(|v| parse_bool("METRICS_ENABLED", v))
            .transpose()?
            .unwrap_or(false);
        let metrics_token = get(env, "METRICS_TOKEN")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let mut cors_origins: Vec<String> = Vec::new();
        if origin_of(&frontend_url) != origin_of(&base_url) {
            cors_origins.push(origin_of(&frontend_url));
        }
        if let Some(extra) = get(env, "CORS_EXTRA_ORIGINS") {
            for o in extra.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                validate_url("CORS_EXTRA_ORIGINS", o)?;
                cors_origins.push(o.trim_end_matches('/').to_string());
            }
        }
        let max_import_bytes = match get(env, "IMPORT_MAX_BYTES") {
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| ConfigError(format!("IMPORT_MAX_BYTES must be a number of bytes, got {v:?}")))?,
            None => 64 * 1024 * 1024,
        };

        let mut metadata_allow = Vec::new();
        if let Some(list) = get(env, "METADATA_ALLOW_HOSTS") {
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                metadata_allow.push(item.parse::<IpAddr>().map_err(|_| {
                    ConfigError(format!(
                        "METADATA_ALLOW_HOSTS must list IP addresses, got {item:?}"
                    ))
                })?);
            }
        }

        let oidc_allow = match get(env, "OIDC_ALLOW_HOSTS") {
            Some(list) => AllowHosts::parse("OIDC_ALLOW_HOSTS", list)?,
            None => AllowHosts::default(),
        };

        let go_rate_limit = match get(env, "GO_RATE_LIMIT") {
            Some(v) => v.parse::<u32>().map_err(|_| {
                ConfigError(format!(
                    "GO_RATE_LIMIT must be a number of requests per minute, got {v:?}"
                ))
            })?,
            None => 600,
        };

        let smtp = smtp::smtp_from_env(env)?;
        let smtp_ca_pem = smtp::smtp_ca_from_env(env)?;

        Ok(Config {
            ai: ai::from_env(env)?,
            limits: limits::limits_from(env)?,
            smtp,
            smtp_ca_pem,
            go_rate_limit,
            metadata_allow,
            oidc_allow,
            host,
            port,
            base_url,
            frontend_url,
            db,
            jwt_secret,
            jwt_expires_in,
            session_secret,
            encryption_key,
            registrations_enabled,
            mfa_issuer,
            production,
            log_json,
            trust_proxy,
            api_docs,
            metrics_enabled,
            metrics_token,
            link_check: links::link_check_from(env)?,
            backups: backups::backups_from(env)?,
            cors_origins,
            commit_sha: get(env, "COMMIT_SHA").map(str::to_string),
            max_body_bytes: 10 * 1024 * 1024,
            max_import_bytes,
            generated_secrets: generated,
        })
    }

    /// Whether cookies must carry `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// A stable fingerprint of the JWT secret, used to key in-process caches.
    pub fn secret_fingerprint(&self) -> String {
        hex::encode(&Sha256::digest(self.jwt_secret.as_bytes())[..8])
    }
}

fn validate_url(key: &str, v: &str) -> Result<(), ConfigError> {
    match url::Url::parse(v) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(()),
        _ => err(format!("{key} must be an http(s) URL, got {v:?}")),
    }
}

fn origin_of(u: &str) -> String {
    url::Url::parse(u)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| u.to_string())
}

const SECRET_FILE: &str = ".slugbase-secrets";

fn load_secret_file(dir: &Path) -> Result<HashMap<String, String>, ConfigError> {
    let path = dir.join(SECRET_FILE);
    let mut map = HashMap::new();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    map.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
            Ok(map)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(map),
        Err(e) => err(format!("cannot read {}: {e}", path.display())),
    }
}

fn save_secret_file(dir: &Path, map: &HashMap<String, String>) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|e| ConfigError(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(SECRET_FILE);
    let mut keys: Vec<_> = map.keys().collect();
    keys.sort();
    let mut text = String::from(
        "# Generated by SlugBase for development. Set these in the environment for production.\n",
    );
    for k in keys {
        text.push_str(&format!("{k}={}\n", map[k]));
    }
    std::fs::write(&path, text).map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("12h"), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("3x"), None);
    }

    #[test]
    fn production_requires_secrets() {
        let e = Config::from_env(&env(&[("NODE_ENV", "production")])).unwrap_err();
        assert!(e.0.contains("JWT_SECRET"), "{e}");
        let e = Config::from_env(&env(&[
            ("NODE_ENV", "production"),
            ("JWT_SECRET", "short"),
            ("SESSION_SECRET", "s".repeat(40).as_str()),
            ("ENCRYPTION_KEY", "0".repeat(64).as_str()),
        ]))
        .unwrap_err();
        assert!(e.0.contains("JWT_SECRET"), "{e}");
        let e = Config::from_env(&env(&[
            ("NODE_ENV", "production"),
            ("JWT_SECRET", "j".repeat(40).as_str()),
            ("SESSION_SECRET", "s".repeat(40).as_str()),
            ("ENCRYPTION_KEY", "k".repeat(40).as_str()),
        ]))
        .unwrap_err();
        assert!(e.0.contains("ENCRYPTION_KEY"), "{e}");
    }

    #[test]
    fn allow_hosts_take_names_and_addresses() {
        let a = AllowHosts::parse("X", " 192.168.1.20, [::1],Auth.Home.LAN., localhost ").unwrap();
        assert_eq!(
            a.ips,
            vec!["192.168.1.20".parse::<IpAddr>().unwrap(), "::1".parse().unwrap()]
        );
        assert_eq!(a.names, vec!["auth.home.lan", "localhost"]);
        assert!(AllowHosts::parse("X", "http://auth.lan").is_err());
        assert!(AllowHosts::parse("X", "auth.lan:8443").is_err());
        assert_eq!(AllowHosts::parse("X", " , ").unwrap(), AllowHosts::default());
    }

    #[test]
    fn hex_key_is_raw_and_other_keys_are_stretched() {
        let k = derive_master_key(&"0f".repeat(32)).unwrap();
        assert_eq!(k, [0x0f; 32]);
        assert!(derive_master_key(&"zz".repeat(32)).is_err());
        let a = derive_master_key("a-long-passphrase-that-is-not-hex-at-all").unwrap();
        let b = derive_master_key("a-long-passphrase-that-is-not-hex-at-all").unwrap();
        assert_eq!(a, b);
    }
}
