//! Timestamps that read the same from both backends and from databases the original wrote.
//!
//! PostgreSQL stores `timestamp without time zone` (UTC by convention). SQLite stores text, and the
//! original left three spellings behind: `YYYY-MM-DD HH:MM:SS` (column defaults), ISO 8601 with
//! milliseconds and `Z` (written by the app), and the literal `CURRENT_DATETIME` (a typo in its
//! schema's defaults). [`Ts`] reads all of them; it writes ISO 8601 with milliseconds and `Z`.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize, Serializer};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef, Postgres};
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Type};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts(pub DateTime<Utc>);

impl Ts {
    pub fn now() -> Ts {
        Ts::from_system(std::time::SystemTime::now())
    }

    /// Millisecond precision, so a value survives a round trip through either backend unchanged.
    pub fn from_system(t: std::time::SystemTime) -> Ts {
        let t: DateTime<Utc> = t.into();
        Ts(Utc
            .timestamp_millis_opt(t.timestamp_millis())
            .single()
            .unwrap_or(t))
    }

    pub fn from_unix(secs: i64) -> Ts {
        Ts(Utc.timestamp_opt(secs, 0).single().unwrap_or_default())
    }

    pub fn unix(&self) -> i64 {
        self.0.timestamp()
    }

    pub fn plus(&self, d: std::time::Duration) -> Ts {
        Ts(self.0 + chrono::Duration::from_std(d).unwrap_or_default())
    }

    pub fn minus(&self, d: std::time::Duration) -> Ts {
        Ts(self.0 - chrono::Duration::from_std(d).unwrap_or_default())
    }

    /// ISO 8601 / RFC 3339 in UTC with milliseconds: `2026-01-02T03:04:05.000Z`.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Reads any of the spellings described in the module documentation. Text that is no
    /// timestamp at all (the original's `CURRENT_DATETIME`) reads as the Unix epoch.
    pub fn parse_lenient(s: &str) -> Ts {
        Self::parse(s).unwrap_or(Ts(DateTime::<Utc>::UNIX_EPOCH))
    }

    /// A date and time a client typed: RFC 3339, or ISO 8601 without an offset (read as UTC).
    /// Unlike [`Ts::parse`], no bare numbers and no space-separated forms.
    pub fn parse_input(s: &str) -> Option<Ts> {
        let s = s.trim();
        if let Ok(d) = DateTime::parse_from_rfc3339(s) {
            return Some(Ts(d.with_timezone(&Utc)));
        }
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|n| Ts(n.and_utc()))
    }

    pub fn parse(s: &str) -> Option<Ts> {
        let s = s.trim();
        if let Ok(d) = DateTime::parse_from_rfc3339(s) {
            return Some(Ts(d.with_timezone(&Utc)));
        }
        // PostgreSQL's text of a timestamptz: `2026-01-02 03:04:05.678+00`.
        if let Ok(d) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z") {
            return Some(Ts(d.with_timezone(&Utc)));
        }
        for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
            if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
                return Some(Ts(n.and_utc()));
            }
        }
        if let Ok(secs) = s.parse::<i64>() {
            // Unix seconds or milliseconds.
            return Some(if secs > 100_000_000_000 {
                Ts(Utc.timestamp_millis_opt(secs).single()?)
            } else {
                Ts::from_unix(secs)
            });
        }
        None
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

/// From JSON the database assembled ([`crate::db::Db::json_rows`]): text in any spelling [`Ts::parse`]
/// reads, or a number (Unix seconds or milliseconds, as SQLite may hold them).
impl<'de> serde::Deserialize<'de> for Ts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            Text(std::borrow::Cow<'a, str>),
            Number(i64),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Text(s) => Ts::parse_lenient(&s),
            Raw::Number(n) => Ts::parse_lenient(&n.to_string()),
        })
    }
}

/// A flag from JSON the database assembled: `true`/`false` (PostgreSQL), `1`/`0` (SQLite), or null.
pub fn json_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Number(i64),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Bool(b)) => Some(b),
        Some(Raw::Number(n)) => Some(n != 0),
        None => None,
    })
}

impl utoipa::PartialSchema for Ts {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::DateTime,
            )))
            .into()
    }
}

impl utoipa::ToSchema for Ts {}

// ---- SQLite: text (any of the spellings above), or integer Unix seconds ----

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(_ty: &SqliteTypeInfo) -> bool {
        true
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Ts::parse_lenient(text))
    }
}

impl<'q> Encode<'q, Sqlite> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Sqlite>>::encode(self.to_rfc3339(), buf)
    }
}

// ---- PostgreSQL: timestamp (UTC by convention), timestamptz, or text ----

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <NaiveDateTime as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <NaiveDateTime as Type<Postgres>>::compatible(ty)
            || <DateTime<Utc> as Type<Postgres>>::compatible(ty)
            || <String as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        use sqlx::ValueRef;
        let ty = value.type_info().into_owned();
        if <DateTime<Utc> as Type<Postgres>>::compatible(&ty) {
            return Ok(Ts(<DateTime<Utc> as Decode<Postgres>>::decode(value)?));
        }
        if <String as Type<Postgres>>::compatible(&ty) {
            return Ok(Ts::parse_lenient(<&str as Decode<Postgres>>::decode(value)?));
        }
        Ok(Ts(<NaiveDateTime as Decode<Postgres>>::decode(value)?.and_utc()))
    }
}

impl<'q> Encode<'q, Postgres> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <NaiveDateTime as Encode<'q, Postgres>>::encode(self.0.naive_utc(), buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_spelling_the_original_left() {
        let a = Ts::parse("2026-01-02 03:04:05").unwrap();
        let b = Ts::parse("2026-01-02T03:04:05.000Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(b.to_rfc3339(), "2026-01-02T03:04:05.000Z");
        assert_eq!(Ts::parse_lenient("CURRENT_DATETIME").unix(), 0);
        assert_eq!(Ts::parse("1700000000").unwrap().unix(), 1_700_000_000);
        // PostgreSQL's text of a timestamptz (in a UNION of text columns).
        assert_eq!(Ts::parse("2026-01-02 05:04:05.000+02").unwrap(), b);
        assert_eq!(Ts::parse("2026-01-02 03:04:05+00").unwrap(), a);
        // What a client may type in a date-time field.
        assert_eq!(Ts::parse_input("2026-01-02T03:04:05Z").unwrap(), a);
        assert_eq!(Ts::parse_input("2026-01-02T03:04:05").unwrap(), a);
        assert!(Ts::parse_input("0").is_none());
        assert!(Ts::parse_input("1700000000").is_none());
    }
}
