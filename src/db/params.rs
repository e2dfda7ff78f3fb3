//! Parameters for SQL built at run time (filters that come and go), numbered `$1…` for both
//! backends and bound with [`bind_params!`].

use super::Ts;

#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
    Bool(bool),
    Time(Ts),
    /// A text that may be NULL.
    OptText(Option<String>),
    /// A timestamp that may be NULL (typed, so PostgreSQL accepts it for timestamp columns).
    OptTime(Option<Ts>),
}

#[derive(Debug, Default, Clone)]
pub struct Params {
    pub args: Vec<Arg>,
}

impl Params {
    pub fn new() -> Params {
        Params::default()
    }

    /// Adds a value and returns its placeholder (`$n`).
    pub fn push(&mut self, a: impl Into<Arg>) -> String {
        self.args.push(a.into());
        format!("${}", self.args.len())
    }

    /// Placeholders for a list of texts: `$3, $4, $5`.
    pub fn list<S: AsRef<str>>(&mut self, items: &[S]) -> String {
        items
            .iter()
            .map(|s| self.push(s.as_ref().to_string()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Arg {
        Arg::Text(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Arg {
        Arg::Text(v.to_string())
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Arg {
        Arg::Text(v.clone())
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::Bool(v)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Arg {
        Arg::OptText(v)
    }
}
impl From<Option<Ts>> for Arg {
    fn from(v: Option<Ts>) -> Arg {
        Arg::OptTime(v)
    }
}
impl From<Ts> for Arg {
    fn from(v: Ts) -> Arg {
        Arg::Time(v)
    }
}

/// Binds every parameter of a [`Params`] to a sqlx query (`query`, `query_as` or `query_scalar`).
#[macro_export]
macro_rules! bind_params {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for a in $params.args.iter() {
            q = match a {
                $crate::db::params::Arg::Text(s) => q.bind(s.clone()),
                $crate::db::params::Arg::Int(i) => q.bind(*i),
                $crate::db::params::Arg::Bool(b) => q.bind(*b),
                $crate::db::params::Arg::Time(t) => q.bind(*t),
                $crate::db::params::Arg::OptText(v) => q.bind(v.clone()),
                $crate::db::params::Arg::OptTime(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// [`bind_params!`] that moves the values into the query (no copy of each text).
#[macro_export]
macro_rules! bind_params_owned {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for a in $params.args.into_iter() {
            q = match a {
                $crate::db::params::Arg::Text(s) => q.bind(s),
                $crate::db::params::Arg::Int(i) => q.bind(i),
                $crate::db::params::Arg::Bool(b) => q.bind(b),
                $crate::db::params::Arg::Time(t) => q.bind(t),
                $crate::db::params::Arg::OptText(v) => q.bind(v),
                $crate::db::params::Arg::OptTime(v) => q.bind(v),
            };
        }
        q
    }};
}

/// Escapes `%`, `_` and `\\` for a `LIKE … ESCAPE '\\'` pattern.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
