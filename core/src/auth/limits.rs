//! The abuse limits on authentication, per client IP and per account name:
//! login, registration, mailed links (verification, password reset) and the
//! tokens those links carry. Exceeding one answers 429 with `Retry-After`.

use std::net::IpAddr;
use std::time::Duration;

use agora_model::ApiError;

use crate::rate_limit::RateLimiter;

/// Keys tracked per limiter before the stalest is dropped.
const MAX_KEYS: usize = 100_000;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

pub struct AuthLimits {
    login_ip: RateLimiter,
    login_account: RateLimiter,
    register_ip: RateLimiter,
    mail_ip: RateLimiter,
    mail_account: RateLimiter,
    link_ip: RateLimiter,
}

/// One attempt to check.
pub enum Attempt<'a> {
    Login {
        ip: Option<IpAddr>,
        account: &'a str,
    },
    Register {
        ip: Option<IpAddr>,
    },
    /// Asking for a verification or reset mail.
    Mail {
        ip: Option<IpAddr>,
        account: &'a str,
    },
    /// Presenting a token from a mailed link.
    LinkToken {
        ip: Option<IpAddr>,
    },
}

impl Default for AuthLimits {
    /// Login: 30 failures a minute per IP, 10 per 15 minutes per account. Register:
    /// 20 an hour per IP. Mail: 10 an hour per IP, 3 per account. Link
    /// tokens: 30 per 10 minutes per IP.
    fn default() -> Self {
        Self {
            login_ip: RateLimiter::new(30, MINUTE, MAX_KEYS),
            login_account: RateLimiter::new(10, 15 * MINUTE, MAX_KEYS),
            register_ip: RateLimiter::new(20, HOUR, MAX_KEYS),
            mail_ip: RateLimiter::new(10, HOUR, MAX_KEYS),
            mail_account: RateLimiter::new(3, HOUR, MAX_KEYS),
            link_ip: RateLimiter::new(30, 10 * MINUTE, MAX_KEYS),
        }
    }
}

impl AuthLimits {
    /// Counts the attempt, or refuses it with the wait until one would pass.
    pub fn check(&self, attempt: Attempt<'_>) -> Result<(), ApiError> {
        let result = match attempt {
            Attempt::Login { ip, account } => {
                self.login_ip.check(&ip_key(ip)).and_then(|()| self.login_account.check(&account_key(account)))
            }
            Attempt::Register { ip } => self.register_ip.check(&ip_key(ip)),
            Attempt::Mail { ip, account } => self.mail_ip.check(&ip_key(ip)).and_then(|()| self.mail_account.check(&account_key(account))),
            Attempt::LinkToken { ip } => self.link_ip.check(&ip_key(ip)),
        };
        result.map_err(ApiError::rate_limited)
    }

    /// Whether a login may be tried now. Logins count only when they fail
    /// ([`Self::login_failed`]), so people and scripts that log in correctly
    /// are never slowed, while guessing is.
    pub fn login_allowed(&self, ip: Option<IpAddr>, account: &str) -> Result<(), ApiError> {
        let (ip, account) = (ip_key(ip), account_key(account));
        self.login_ip.peek(&ip).and_then(|()| self.login_account.peek(&account)).map_err(ApiError::rate_limited)
    }

    /// Keys tracked across the limits (for the memory figures).
    pub fn tracked(&self) -> usize {
        [&self.login_ip, &self.login_account, &self.register_ip, &self.mail_ip, &self.mail_account, &self.link_ip]
            .iter()
            .map(|l| l.tracked())
            .sum()
    }

    pub fn login_failed(&self, ip: Option<IpAddr>, account: &str) {
        let _ = self.login_ip.check(&ip_key(ip));
        let _ = self.login_account.check(&account_key(account));
    }
}

/// IPv4 addresses count one by one; IPv6 ones by their /64, the block one
/// subscriber is given (rotating through it is one client). Mapped IPv4
/// addresses count as the IPv4 address.
pub(crate) fn ip_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(v4) => v4.to_string(),
        None => "unknown".into(),
    }
}

fn account_key(account: &str) -> String {
    account.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotating_through_an_ipv6_block_is_one_client() {
        let limits = AuthLimits::default();
        for i in 0..20u16 {
            let ip: IpAddr = format!("2001:db8:1:2:{i:x}:ffff:{i:x}:1").parse().unwrap();
            limits.check(Attempt::Register { ip: Some(ip) }).unwrap();
        }
        let next: IpAddr = "2001:db8:1:2:dead:beef::1".parse().unwrap();
        assert!(limits.check(Attempt::Register { ip: Some(next) }).is_err(), "the 21st registration from one /64 waits");
        let neighbour: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        limits.check(Attempt::Register { ip: Some(neighbour) }).unwrap();
        assert_eq!(ip_key(Some("::ffff:192.0.2.7".parse().unwrap())), "192.0.2.7");
    }

    #[test]
    fn only_failed_logins_count() {
        let limits = AuthLimits::default();
        for _ in 0..50 {
            limits.login_allowed(None, "carol").unwrap();
        }
        for _ in 0..10 {
            limits.login_failed(Some(IpAddr::from([10, 0, 0, 1])), "carol");
        }
        assert!(limits.login_allowed(Some(IpAddr::from([10, 0, 0, 2])), "Carol").is_err());
        limits.login_allowed(Some(IpAddr::from([10, 0, 0, 2])), "dave").unwrap();
    }

    #[test]
    fn the_eleventh_login_to_one_account_waits_whatever_the_ip() {
        let limits = AuthLimits::default();
        for i in 0..10 {
            let ip = Some(IpAddr::from([10, 0, 0, i]));
            limits.check(Attempt::Login { ip, account: "Alice" }).unwrap();
        }
        let err = limits.check(Attempt::Login { ip: Some(IpAddr::from([10, 0, 1, 1])), account: "alice " }).unwrap_err();
        assert_eq!(err.kind, agora_model::ErrorKind::RateLimited);
        assert!(err.retry_after_secs.unwrap() >= 60, "{err:?}");
        limits.check(Attempt::Login { ip: Some(IpAddr::from([10, 0, 1, 1])), account: "bob" }).unwrap();
    }
}
