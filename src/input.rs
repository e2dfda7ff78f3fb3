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
