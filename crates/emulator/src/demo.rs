//! A deterministic demo fleet: believable host names, systems and certificates.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::agent::{Agent, Certificate, pack_hostnames};

const ROLES: &[&str] = &["web", "db", "app", "mail", "dc", "fs", "log", "proxy", "build", "vpn"];
const SITES: &[&str] = &["ams", "fra", "lon", "nyc", "sfo", "sgp", "syd"];

const SERVER_OS: &[&str] = &[
    "Ubuntu 22.04",
    "Ubuntu 24.04",
    "Debian 12",
    "Red Hat Enterprise Linux 9.4",
    "Rocky Linux 8.10",
    "SUSE Linux Enterprise Server 15 SP6",
    "Windows Server 2019",
    "Windows Server 2022",
];
const DESKTOP_OS: &[&str] =
    &["Windows 10 22H2", "Windows 11 23H2", "Windows 11 24H2", "macOS 14.6"];
const VERSIONS: &[&str] =
    &["6.4.9394", "6.4.9394", "6.3.9367", "6.2.9286", "5.11.8085", "5.9.7906"];

/// How long a renewed certificate is valid, and how long demo certificates are.
pub const DEFAULT_VALIDITY_DAYS: i64 = 365;

/// Builds `count` agents from `seed`, with certificate dates relative to `now`.
///
/// The same `(count, seed, now)` gives the same fleet on every run and
/// machine. About a third are Windows or macOS desktops named `PC1`, `PC2`, …;
/// the rest are servers named like `web-ams-001`. About 10% are offline,
/// about 1% of the online ones wait for a files sync, and `notAfter` is spread
/// evenly from one year before `now` to two years after it. Certificates
/// were issued for one, two or three years (the shortest that began by
/// `now`), in whole seconds.
pub fn demo_fleet(count: usize, seed: u64, now: DateTime<Utc>) -> Vec<Agent> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let now = now.timestamp();
    let validity = Duration::days(DEFAULT_VALIDITY_DAYS).num_seconds();
    let mut desktops = 0usize;
    let mut servers = vec![0usize; ROLES.len() * SITES.len()];
    let mut agents = Vec::with_capacity(count);

    for index in 0..count {
        let id = uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid();
        let is_desktop = rng.gen_ratio(1, 3);

        let (hostname, os) = if is_desktop {
            desktops += 1;
            (format!("PC{desktops}"), DESKTOP_OS[rng.gen_range(0..DESKTOP_OS.len())])
        } else {
            let role = rng.gen_range(0..ROLES.len());
            let site = rng.gen_range(0..SITES.len());
            let slot = &mut servers[role * SITES.len() + site];
            *slot += 1;
            let name = format!("{}-{}-{:03}", ROLES[role], SITES[site], slot);
            (name, SERVER_OS[rng.gen_range(0..SERVER_OS.len())])
        };

        // Issued for one, two or three years: the shortest that started by now.
        let not_after = rng.gen_range(now - validity..=now + 2 * validity);
        let years = (1..=3).find(|y| not_after - y * validity <= now).unwrap_or(3);
        let certificate = Certificate {
            not_before: timestamp(not_after - years * validity),
            not_after: timestamp(not_after),
        };

        let mut agent = Agent::new(id, hostname, certificate);
        agent.online = !rng.gen_ratio(1, 10);
        agent.needs_files_sync = agent.online && rng.gen_ratio(1, 100);
        let details = agent.details_mut();
        details.version = VERSIONS[rng.gen_range(0..VERSIONS.len())].to_string();
        details.os = os.to_string();
        details.address = address(index);
        agents.push(agent);
    }
    pack_hostnames(&mut agents);
    agents
}

fn timestamp(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

// Unique private addresses in 10.0.0.0/8, skipping .0 and .255 host parts.
fn address(index: usize) -> String {
    let host = index % 254 + 1;
    let rest = index / 254;
    format!("10.{}.{}.{}", (rest / 256) % 256, rest % 256, host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn same_seed_same_fleet_other_seed_other_fleet() {
        assert_eq!(demo_fleet(50, 7, now()), demo_fleet(50, 7, now()));
        assert_ne!(demo_fleet(50, 7, now()), demo_fleet(50, 8, now()));
    }

    #[test]
    fn spread_is_believable() {
        let fleet = demo_fleet(10_000, 1, now());
        let offline = fleet.iter().filter(|a| !a.online).count();
        assert!((800..1200).contains(&offline), "offline {offline}");
        let expired = fleet.iter().filter(|a| a.certificate.not_after < now()).count();
        assert!((2900..3800).contains(&expired), "expired {expired}");
        let min = fleet.iter().map(|a| a.certificate.not_after).min().unwrap();
        let max = fleet.iter().map(|a| a.certificate.not_after).max().unwrap();
        assert!(min >= now() - Duration::days(365) && max <= now() + Duration::days(730));
        assert!(fleet.iter().all(|a| a.certificate.not_before <= now()), "issued in the past");
        assert!(fleet.iter().any(|a| a.hostname == "PC1"));
        let mut names: Vec<_> = fleet.iter().map(|a| a.hostname.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), fleet.len(), "host names are unique");
    }
}
