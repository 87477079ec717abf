//! The inputs shared by the criterion benchmark (`benches/filter.rs`) and
//! the callgrind program (`examples/workload.rs`), so both measure the same
//! work.

use chrono::{TimeZone, Utc};
use nxlog_filter::{FieldValue, Options, Record};

/// The vendor's date filter.
pub const VENDOR: &str = r#"(certificate/not-after lt "2024-09-22 00:00:00 UTC")"#;
/// An LDAP filter of the same length (52 bytes), for the ldap3 peer.
pub const VENDOR_LDAP: &str = "(&(hostname=PC1)(notAfter<=20240922000000Z)(os=lin))";

/// Options with a fixed clock.
pub fn options() -> Options {
    Options::new().now(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
}

/// `n` terms joined by `or`.
pub fn long_filter(n: usize) -> String {
    let terms: Vec<String> = (0..n).map(|i| format!("hostname=PC{i:03}")).collect();
    format!("({})", terms.join(" or "))
}

/// An agent as held in memory, timestamps as the API writes them.
pub struct Agent {
    pub hostname: String,
    pub not_after: String,
}

impl Record for Agent {
    fn lookup(&self, key_path: &[&str]) -> Option<FieldValue<'_>> {
        match key_path {
            ["hostname"] => Some(FieldValue::Str(&self.hostname)),
            ["certificate", "notAfter"] => Some(FieldValue::Str(&self.not_after)),
            _ => None,
        }
    }
}

/// `n` agents, 1,000 host names and expiry dates spread over two years.
pub fn fleet(n: usize) -> Vec<Agent> {
    (0..n)
        .map(|i| {
            let not_after = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
                + chrono::TimeDelta::minutes((i as i64 * 7919) % 1_000_000);
            Agent {
                hostname: format!("PC{}", i % 1000),
                not_after: not_after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }
        })
        .collect()
}
