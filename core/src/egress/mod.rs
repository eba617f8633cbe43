//! Every server-side request to an address a user gave goes through here,
//! so one destination policy ([`policy`]) is checked on every connection,
//! not only on the address as typed:
//!
//! - a host name is resolved by the client's own resolver, which checks
//!   every address the name resolves to and hands the connector only those
//!   (a name that resolves to a refused address is refused whole). The
//!   connection goes to an address that was checked, so a DNS answer that
//!   changes between check and connect (rebinding) cannot move it;
//! - an address in the URL itself is checked before the request is built;
//! - redirects are never followed (a caller that wants to go where a
//!   `Location` points asks for a new request, which is checked again);
//! - no proxy from the environment is used: the policy judges the real
//!   destination, not a proxy's;
//! - answers are read up to a size cap, and every request has a deadline.
//!
//! The resolver needs the port to recognise Agora's own listeners, so
//! there is one HTTP client per destination (host and port), kept while
//! it is used.

pub mod policy;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub use policy::{Allowed, DestinationPolicy, Refused};

/// Clients kept for destinations; past this many, the cache starts over.
const MAX_CLIENTS: usize = 256;
/// The whole request, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request did not get an answer. The messages say what happened on
/// Agora's side only: they never describe what the other side answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EgressError {
    #[error("{0}")]
    Refused(Refused),
    #[error("could not connect")]
    Unreachable,
    #[error("timed out")]
    TimedOut,
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    BadUrl(&'static str),
}

impl EgressError {
    fn from_reqwest(err: &reqwest::Error) -> EgressError {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(current) = cause {
            if let Some(refused) = current.downcast_ref::<Refused>() {
                return EgressError::Refused(refused.clone());
            }
            cause = current.source();
        }
        if err.is_timeout() {
            EgressError::TimedOut
        } else {
            EgressError::Unreachable
        }
    }
}

/// The HTTP client for user-given addresses.
#[derive(Clone)]
pub struct Egress {
    inner: Arc<Inner>,
}

struct Inner {
    policy: Arc<DestinationPolicy>,
    /// One per host name and port.
    clients: Mutex<HashMap<(String, u16), reqwest::Client>>,
    /// For addresses written in the URL, checked before each request (its
    /// resolver refuses every name: it is never asked).
    literal: reqwest::Client,
}

/// Resolves names for one destination port and checks every address.
struct CheckingResolver {
    policy: Arc<DestinationPolicy>,
    /// `None`: refuse every name.
    port: Option<u16>,
}

impl Resolve for CheckingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let (policy, port) = (Arc::clone(&self.policy), self.port);
        Box::pin(async move {
            let Some(port) = port else { return Err(Refused("the name was not checked".into()).into()) };
            let host = name.as_str();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
            let listed = policy.allows_host(host);
            for addr in &addrs {
                policy.check(*addr, listed)?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

fn client(policy: &Arc<DestinationPolicy>, port: Option<u16>) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("agora/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(CheckingResolver { policy: Arc::clone(policy), port }))
        .build()
        .expect("the HTTP client's settings are valid")
}

impl Egress {
    pub fn new(policy: DestinationPolicy) -> Self {
        let policy = Arc::new(policy);
        let literal = client(&policy, None);
        Egress { inner: Arc::new(Inner { policy, clients: Mutex::new(HashMap::new()), literal }) }
    }

    pub fn policy(&self) -> &DestinationPolicy {
        &self.inner.policy
    }

    /// A request to `url` through a client that connects only where the
    /// policy allows.
    pub fn request(&self, method: reqwest::Method, url: &str) -> Result<reqwest::RequestBuilder, EgressError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| EgressError::BadUrl("not a valid URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(EgressError::BadUrl("only http and https addresses are fetched"));
        }
        let port = parsed.port_or_known_default().ok_or(EgressError::BadUrl("the URL has no port"))?;
        let client = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => self.checked_literal(SocketAddr::new(ip.into(), port))?,
            Some(url::Host::Ipv6(ip)) => self.checked_literal(SocketAddr::new(ip.into(), port))?,
            Some(url::Host::Domain(name)) => self.client_for(name, port),
            None => return Err(EgressError::BadUrl("the URL names no host")),
        };
        Ok(client.request(method, parsed))
    }

    /// Sends a request made by [`Egress::request`].
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, EgressError> {
        request.send().await.map_err(|e| EgressError::from_reqwest(&e))
    }

    fn checked_literal(&self, addr: SocketAddr) -> Result<reqwest::Client, EgressError> {
        self.inner.policy.check(addr, false).map_err(EgressError::Refused)?;
        Ok(self.inner.literal.clone())
    }

    fn client_for(&self, host: &str, port: u16) -> reqwest::Client {
        let mut clients = self.inner.clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (host.to_ascii_lowercase(), port);
        if let Some(client) = clients.get(&key) {
            return client.clone();
        }
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        let made = client(&self.inner.policy, Some(port));
        clients.insert(key, made.clone());
        made
    }
}

/// Reads an answer's body, refusing one larger than `cap` bytes as soon
/// as it says or shows so.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Bytes, EgressError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(EgressError::TooLarge(cap));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| EgressError::from_reqwest(&e))? {
        if body.len() + chunk.len() > cap {
            return Err(EgressError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
