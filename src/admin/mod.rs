//! The admin area's use cases: members, teams, instance settings and the audit log. Callers
//! check that the actor is an admin; these functions own the rules and the audit entries.

pub mod audit_log;
pub mod invites;
pub mod members;
pub mod settings;
pub mod smtp;
pub mod teams;
