//! The session cookie: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` when
//! Agora is served over HTTPS.

pub const SESSION_COOKIE: &str = "agora_session";

/// A `Set-Cookie` value carrying `token` for `max_age_secs`.
pub fn set_session(token: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn clear_session(secure: bool) -> String {
    set_session("", 0, secure)
}

/// The session token among the `Cookie` header values, if any.
pub fn session_from<'a>(cookie_headers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    cookie_headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_lax_and_secure_on_https() {
        let cookie = set_session("abc", 60, true);
        assert_eq!(cookie, "agora_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        assert!(!set_session("abc", 60, false).contains("Secure"));
        assert!(clear_session(false).starts_with("agora_session=; Path=/; Max-Age=0"));
    }

    #[test]
    fn the_session_is_found_among_other_cookies() {
        assert_eq!(session_from(["agora_theme=dark; agora_session=t.o.k"]), Some("t.o.k"));
        assert_eq!(session_from(["a=b", "agora_session=x"]), Some("x"));
        assert_eq!(session_from(["agora_session="]), None);
        assert_eq!(session_from(["xagora_session=y"]), None);
    }
}
