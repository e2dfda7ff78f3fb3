//! Small rules for reading input: a field that is absent, `null` or set, and paging numbers.

use serde::{Deserialize, Deserializer};

/// Distinguishes a field that is absent (`None`) from one that is `null` (`Some(None)`).
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

pub fn parse_limit(v: Option<&str>, default: i64, max: i64) -> i64 {
    v.and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(default)
        .clamp(1, max)
}

pub fn parse_offset(v: Option<&str>) -> i64 {
    v.and_then(|s| s.trim().parse::<i64>().ok()).unwrap_or(0).max(0)
}

/// A query-string switch: `true`, `1` or `yes`.
pub fn flag(v: Option<&str>) -> bool {
    matches!(v, Some("true") | Some("1") | Some("yes"))
}

/// The documented schema of an optional time that may also be sent empty (a form's blank field):
/// an ISO 8601 date-time, or `""` or `null` for "not given".
pub fn date_time_or_empty() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
    let one_of = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(0)))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .build();
    Schema::OneOf(one_of)
}
