//! A small HTTP/1.1 load generator for the emulator: single-agent renews over
//! keep-alive connections on loopback, like `wrk` with a fixed request count.
//!
//! ```text
//! nxlog-emulator --demo 10000 &      # note the URL it prints
//! cargo run --release -p nxlog-emulator --example load -- http://127.0.0.1:PORT 200000 32
//! ```
//!
//! Arguments: base URL, total requests (at most 10,000,000), connections
//! (at most 1,024). Loopback addresses only.

use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "demo-rw-token";
const ORG: &str = "demo";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: load BASE_URL [REQUESTS] [CONNECTIONS]";
    let base = args.first().ok_or(usage)?;
    let requests: usize = args.get(1).map_or(Ok(100_000), |s| s.parse())?;
    let connections: usize = args.get(2).map_or(Ok(32), |s| s.parse())?;
    if requests > 10_000_000 || !(1..=1024).contains(&connections) {
        return Err("expected at most 10,000,000 requests and 1 to 1,024 connections".into());
    }
    let authority = base.strip_prefix("http://").ok_or("expected an `http://` URL")?;
    let addr: SocketAddr = authority.trim_end_matches('/').parse()?;
    if !addr.ip().is_loopback() {
        return Err("the load generator only targets loopback addresses".into());
    }

    // Renew a rotating set of real agents.
    let mut stream = TcpStream::connect(addr).await?;
    let (status, body) =
        exchange(&mut stream, "GET", &format!("/api/{ORG}/api/v1/agents/*?limit=1000")).await?;
    if status != 200 {
        return Err(format!("listing agents answered {status}").into());
    }
    let agents: Vec<serde_json::Value> = serde_json::from_slice(&body)?;
    let ids: Vec<String> =
        agents.iter().filter_map(|a| a["id"].as_str().map(str::to_string)).collect();
    if ids.is_empty() {
        return Err("the emulator has no agents".into());
    }

    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let share = requests / connections + usize::from(c < requests % connections);
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut failures = 0usize;
            for i in 0..share {
                let id = &ids[(c + i * connections) % ids.len()];
                let path = format!("/api/{ORG}/api/v1/agents/{id}/certificate/renew");
                let (status, _) = exchange(&mut stream, "POST", &path).await?;
                failures += usize::from(status != 200);
            }
            Ok::<usize, std::io::Error>(failures)
        }));
    }
    let mut failures = 0;
    for task in tasks {
        failures += task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{requests} renews over {connections} connections in {elapsed:.2} s: {:.0} req/s, {failures} not 200",
        requests as f64 / elapsed
    );
    Ok(())
}

/// Sends one request on a keep-alive connection and reads one response.
async fn exchange(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
) -> std::io::Result<(u16, Vec<u8>)> {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 0\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;

    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed mid-response"));
        }
        buffer.extend_from_slice(&chunk[..n]);
    };

    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| std::io::Error::other("response without content-length"))?;
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed mid-body"));
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Ok((status, buffer[head_end..head_end + length].to_vec()))
}
