//! The server-rendered pages, driven over HTTP on loopback like a browser without JavaScript
//! (forms, redirects, cookies), on both databases. One module per page area.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod admin;
mod ai;
mod capture;
mod link_checks;
mod mail;
mod oidc;
mod pages;
mod profile;
