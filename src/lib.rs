//! SlugBase: a self-hosted bookmark manager with go-link forwarding, in one binary.
//!
//! Rooms: [`config`], [`db`] (storage), the domain modules, and the thin HTTP adapters [`api`]
//! (JSON) and [`web`] (HTML), assembled by [`startup`].

pub mod account;
pub mod admin;
pub mod ai;
pub mod api;
pub mod audit;
pub mod auth;
pub mod bookmarks;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod folders;
pub mod golinks;
pub mod http;
pub mod input;
pub mod linkcheck;
pub mod mail;
pub mod metadata;
pub mod metrics;
pub mod mfa;
pub mod oidc;
pub mod palette;
pub mod passkeys;
pub mod router;
pub mod serve;
pub mod settings;
pub mod sharing;
pub mod startup;
pub mod state;
pub mod tags;
pub mod teams;
pub mod telemetry;
pub mod users;
pub mod web;

pub use config::Config;
pub use startup::Application;
pub use state::AppState;
