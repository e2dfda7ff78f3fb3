//! The JSON API, driven over HTTP on loopback against the real server, once on SQLite and once
//! on PostgreSQL (see `common`). One module per area.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod ai;
mod authz_matrix;
mod backup;
mod bookmarks;
mod connections;
mod faults;
mod foundation;
mod golinks;
mod import_export;
mod instances;
mod layers;
mod link_checks;
mod mail;
mod mail_delivery;
mod metadata;
mod metrics;
mod mfa;
mod oidc;
mod passkeys;
mod properties;
mod sharing_admin;
mod upgrade;
