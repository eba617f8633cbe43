//! Account input rules. Each failure names the field and the rule.

use crate::ApiError;

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN_CHARS: usize = 10;
/// Bounds the work a login costs: argon2 hashes whatever it is given.
pub const PASSWORD_MAX_BYTES: usize = 1024;
pub const EMAIL_MAX: usize = 254;

/// Usernames are 3–32 of `a-z 0-9 _ . -`, compared case-insensitively:
/// returns the canonical (lower-case) form.
pub fn normalize_username(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim().to_ascii_lowercase();
    let len = name.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(ApiError::invalid("username", format!("must be {USERNAME_MIN} to {USERNAME_MAX} characters long; it has {len}")));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))) {
        return Err(ApiError::invalid("username", format!("may contain only letters a–z, digits and _ . - (not {c:?})")));
    }
    Ok(name)
}

/// Passwords: at least 10 characters, at most 1024 bytes, not the username.
pub fn validate_password(password: &str, username: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(ApiError::invalid("password", format!("must be at least {PASSWORD_MIN_CHARS} characters long")));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(ApiError::invalid("password", format!("must be at most {PASSWORD_MAX_BYTES} bytes long")));
    }
    if password.trim().eq_ignore_ascii_case(username.trim()) {
        return Err(ApiError::invalid("password", "must not be the same as the username"));
    }
    Ok(())
}

/// A deliverable-looking address: one `@`, a non-empty local part, a domain
/// with a dot, no spaces or control characters, at most 254 characters.
/// Returns it trimmed, with the domain lower-cased.
pub fn normalize_email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim();
    if email.len() > EMAIL_MAX {
        return Err(ApiError::invalid("email", format!("must be at most {EMAIL_MAX} characters long")));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(ApiError::invalid("email", "must be an address like name@example.com"));
    };
    let bad_char = |s: &str| s.chars().any(|c| c.is_whitespace() || c.is_control() || c == '@');
    if local.is_empty() || bad_char(local) || domain.is_empty() || bad_char(domain) {
        return Err(ApiError::invalid("email", "must be an address like name@example.com"));
    }
    let domain = domain.to_ascii_lowercase();
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Err(ApiError::invalid("email", format!("the domain {domain:?} does not look deliverable")));
    }
    Ok(format!("{local}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_canonical_and_checked() {
        assert_eq!(normalize_username(" Alice_01 ").unwrap(), "alice_01");
        assert_eq!(normalize_username("a.b-c").unwrap(), "a.b-c");
        for (bad, needle) in [("ab", "3 to 32"), (&"x".repeat(33)[..], "3 to 32"), ("al ice", "' '"), ("älice", "'ä'"), ("a/b", "'/'")] {
            let err = normalize_username(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("username"));
            assert!(err.message.contains(needle), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn passwords_are_long_bounded_and_not_the_username() {
        validate_password("correct horse battery", "alice").unwrap();
        validate_password("ünïcødé-pässwörd", "alice").unwrap();
        assert!(validate_password("short", "alice").unwrap_err().message.contains("at least 10"));
        assert!(validate_password(&"x".repeat(1025), "alice").unwrap_err().message.contains("at most 1024"));
        assert!(validate_password("alice12345", "Alice12345").unwrap_err().message.contains("username"));
    }

    #[test]
    fn emails_are_trimmed_and_checked() {
        assert_eq!(normalize_email(" Bob.Smith@Example.COM ").unwrap(), "Bob.Smith@example.com");
        for bad in ["bob", "bob@", "@example.com", "bob@localhost", "bo b@example.com", "bob@exa..mple.com", "bob@example.com."] {
            assert_eq!(normalize_email(bad).unwrap_err().field.as_deref(), Some("email"), "{bad}");
        }
    }
}
