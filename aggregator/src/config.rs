//! The server's settings: one struct whose fields are the `serve` flags (and environment
//! variables), defaults included, so the flags, the defaults and the settings cannot drift.

use std::time::Duration;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser};

/// Server settings (`hcl-aggregator serve --help` lists them as flags).
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Largest upload in bytes, counted after decompression.
    #[arg(long, env = "HCL_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Bearer token for moderation; without it moderation is disabled (403).
    #[arg(long, env = "HCL_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Uploads per second per client address (token refill rate; 0: no limit).
    #[arg(long, env = "HCL_RATE_PER_SEC", default_value_t = 1.0)]
    pub rate_per_sec: f64,
    /// Uploads a client address may send in a burst.
    #[arg(long, env = "HCL_RATE_BURST", default_value_t = 30)]
    pub rate_burst: u32,
    /// Behind a reverse proxy: rate-limit by the last X-Forwarded-For address (the one the
    /// proxy added) instead of the peer address (without it, behind a proxy, every client
    /// shares the proxy's limits). The per-client connection cap still counts peers.
    #[arg(long, env = "HCL_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Seconds an upload's body may take to arrive (then 408): a client trickling bytes holds
    /// a connection and memory.
    #[arg(long = "body-timeout-secs", env = "HCL_BODY_TIMEOUT_SECS", value_parser = seconds, default_value = "120")]
    pub body_timeout: Duration,
    /// Seconds the fleet pages may stay behind new uploads before they are rebuilt (a rebuild
    /// reads every report; moderation and a report's own page show at once).
    #[arg(long = "page-upload-lag-secs", env = "HCL_PAGE_UPLOAD_LAG_SECS", value_parser = seconds, default_value = "5")]
    pub page_upload_lag: Duration,
    /// Page snapshots per second a client address may have built for filtered pages (each
    /// reads every report; the unfiltered pages are never limited); 0: no limit.
    #[arg(long, env = "HCL_PAGE_BUILD_RATE_PER_SEC", default_value_t = 0.2)]
    pub page_build_rate_per_sec: f64,
    /// Such builds a client address may cause at once.
    #[arg(long, env = "HCL_PAGE_BUILD_BURST", default_value_t = 20)]
    pub page_build_burst: u32,
    /// Seconds a connection has to send a request's whole header, from when it opens or from
    /// the end of its previous response (so idle keep-alive connections close too).
    #[arg(long = "header-read-timeout-secs", env = "HCL_HEADER_READ_TIMEOUT_SECS", value_parser = seconds, default_value = "10")]
    pub header_read_timeout: Duration,
    /// Connections open at once (more wait in the listen queue); the open-file limit is raised
    /// to fit, or this is lowered to fit the hard limit.
    #[arg(long, env = "HCL_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
    /// Connections one client (an IPv4 address, an IPv6 /64) may hold at once, at most half of
    /// --max-connections; more are closed unanswered; 0: no cap. Behind a reverse proxy every connection comes from the proxy:
    /// set 0, or more than the proxy ever opens (`--trust-forwarded-for` does not change this:
    /// connections are counted before any header is read).
    #[arg(long, env = "HCL_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 64)]
    pub max_connections_per_client: usize,
    /// Seconds a response may wait for the client to read any of it before the connection is
    /// closed (a client that never reads would hold its connection for ever); 0: no limit.
    #[arg(long = "write-timeout-secs", env = "HCL_WRITE_TIMEOUT_SECS", value_parser = seconds, default_value = "30")]
    pub write_timeout: Duration,
    /// Seconds after which a connection takes no new request (the one in progress may finish
    /// within the body timeout plus the write timeout), so a keep-alive connection sending a
    /// request every few seconds cannot hold its slot for ever; 0: no limit.
    #[arg(long = "connection-max-age-secs", env = "HCL_CONNECTION_MAX_AGE_SECS", value_parser = seconds, default_value = "300")]
    pub connection_max_age: Duration,
    /// Wrong admin tokens a client address may send before it gets 429.
    #[arg(long, env = "HCL_ADMIN_FAILURE_BURST", default_value_t = 5)]
    pub admin_failure_burst: u32,
    /// Wrong admin tokens per second a client address earns back; 0: no limit.
    #[arg(long, env = "HCL_ADMIN_FAILURE_RATE_PER_SEC", default_value_t = 0.1)]
    pub admin_failure_rate_per_sec: f64,
}

fn seconds(s: &str) -> Result<Duration, std::num::ParseIntError> {
    s.parse().map(Duration::from_secs)
}

/// The defaults of the flags, without reading the environment.
impl Default for Config {
    fn default() -> Self {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            config: Config,
        }
        let cmd = Defaults::command().mut_args(|a| a.env(None));
        let parsed = cmd
            .try_get_matches_from(["defaults"])
            .map_err(|e| e.to_string())
            .and_then(|m| Defaults::from_arg_matches(&m).map_err(|e| e.to_string()));
        match parsed {
            Ok(d) => d.config,
            // Every flag has a default or is optional: an empty command line always parses.
            Err(e) => unreachable!("the flags' defaults do not parse: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_flags() {
        let c = Config::default();
        assert_eq!(c.max_body_bytes, 8 * 1024 * 1024);
        assert_eq!(c.body_timeout, Duration::from_secs(120));
        assert_eq!(c.page_upload_lag, crate::web::DEFAULT_UPLOAD_LAG);
        assert_eq!((c.rate_per_sec, c.rate_burst), (1.0, 30));
        assert_eq!(c.admin_token, None);
        assert_eq!(c.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.max_connections, 4096);
        assert_eq!(c.max_connections_per_client, 64);
        assert_eq!(c.write_timeout, Duration::from_secs(30));
        assert_eq!(c.connection_max_age, Duration::from_secs(300));
        assert_eq!(
            (c.admin_failure_burst, c.admin_failure_rate_per_sec),
            (5, 0.1)
        );
    }
}
