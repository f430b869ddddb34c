//! Integration tests of hcl-probe: golden scans of captured trees, the kmod oracle, planted
//! identifiers, malformed trees, the command line and capture round trips.

mod capture;
mod cli;
mod common;
mod facts;
mod golden;
mod kmod_oracle;
mod malformed;
mod outside_root;
mod privacy;
mod readiness;
mod upload;
