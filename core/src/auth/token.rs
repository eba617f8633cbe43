//! Signed tokens: short-lived JWTs (HS256, pinned), with issuer, audience,
//! a `typ` naming their purpose, expiry, and the user's token version so
//! logout and password changes invalidate every session issued before.
//! A token of one kind is never accepted as another: an email-verification
//! link is not a session.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

pub const ISSUER: &str = "agora";
pub const AUDIENCE: &str = "agora";
/// What a token is for; its `typ` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    /// The link in a verification mail; carries the address being verified.
    EmailVerification,
    /// The link in a password-reset mail; dies with the token version, so it
    /// works once.
    PasswordReset,
}

impl TokenKind {
    pub const fn typ(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::EmailVerification => "verify-email",
            TokenKind::PasswordReset => "reset-password",
        }
    }
}
/// Anything longer is refused before parsing.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Shortest secret accepted (bytes): HS256 wants at least 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock leeway when checking expiry.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's token version when this token was issued.
    pub ver: u32,
    pub typ: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    /// Sessions: when the person logged in (Unix seconds), kept when the
    /// session is renewed, so a login has an absolute lifetime. 0 in
    /// other kinds (and in sessions issued before it existed: see
    /// [`Claims::logged_in_at`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub auth: u64,
    /// For email verification: the address the link verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the session token is too long")]
    TooLong,
    #[error("the session token is invalid")]
    Invalid,
    #[error("the session token has expired")]
    Expired,
    #[error("the session secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Claims {
    /// When the login this session belongs to happened.
    pub fn logged_in_at(&self) -> u64 {
        if self.auth == 0 {
            self.iat
        } else {
            self.auth
        }
    }
}

/// Signs and checks tokens with one shared secret (from config, or
/// created once in the bucket so every node agrees).
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &Secret<Vec<u8>>) -> Result<Self, TokenError> {
        if secret.expose().len() < MIN_SECRET_BYTES {
            return Err(TokenError::WeakSecret);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        Ok(Self { encoding: EncodingKey::from_secret(secret.expose()), decoding: DecodingKey::from_secret(secret.expose()), validation })
    }

    /// A session token for `user_id` at token version `ver`, valid
    /// `ttl_secs`, of the login made at `logged_in`.
    pub fn issue(&self, user_id: &str, ver: u32, logged_in: u64, now: u64, ttl_secs: u64) -> Result<String, TokenError> {
        self.sign(TokenKind::Session, user_id, ver, None, logged_in, now, ttl_secs)
    }

    /// A token of any kind; `email` only for email verification.
    pub fn issue_kind(
        &self,
        kind: TokenKind,
        user_id: &str,
        ver: u32,
        email: Option<&str>,
        now: u64,
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        self.sign(kind, user_id, ver, email, 0, now, ttl_secs)
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &self,
        kind: TokenKind,
        user_id: &str,
        ver: u32,
        email: Option<&str>,
        auth: u64,
        now: u64,
        ttl_secs: u64,
    ) -> Result<String, TokenError> {
        let claims = Claims {
            sub: user_id.to_owned(),
            ver,
            typ: kind.typ().to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + ttl_secs,
            auth,
            email: email.map(str::to_owned),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|_| TokenError::Invalid)
    }

    /// The claims of a valid session token. The caller still compares `ver`
    /// with the user's current token version.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_kind(TokenKind::Session, token)
    }

    /// The claims of a valid token of `kind`; any other kind is invalid.
    pub fn verify_kind(&self, kind: TokenKind, token: &str) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLong);
        }
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })?;
        if data.claims.typ != kind.typ() {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    fn keys(secret: &[u8]) -> TokenKeys {
        TokenKeys::new(&Secret::new(secret.to_vec())).unwrap()
    }

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn claims_json(exp: u64, aud: &str, typ: &str) -> String {
        format!(r#"{{"sub":"u1","ver":0,"typ":"{typ}","iss":"agora","aud":"{aud}","iat":{},"exp":{exp}}}"#, now())
    }

    /// Signs `header.payload` with HMAC-SHA256 under `secret`, by hand.
    fn hs256(secret: &[u8], header: &str, payload: &str) -> String {
        use hmac::{Hmac, Mac};
        let signing_input = format!("{}.{}", b64(header), b64(payload));
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-test";

    #[test]
    fn a_fresh_token_round_trips() {
        let k = keys(SECRET);
        let token = k.issue("user-1", 3, now(), now(), 900).unwrap();
        let claims = k.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.ver, claims.typ.as_str()), ("user-1", 3, "session"));
    }

    #[test]
    fn a_token_of_one_kind_is_never_another() {
        let k = keys(SECRET);
        let link = k.issue_kind(TokenKind::EmailVerification, "user-1", 0, Some("a@example.com"), now(), 86400).unwrap();
        assert_eq!(k.verify(&link), Err(TokenError::Invalid), "a verification link is not a session");
        let claims = k.verify_kind(TokenKind::EmailVerification, &link).unwrap();
        assert_eq!(claims.email.as_deref(), Some("a@example.com"));
        let session = k.issue("user-1", 0, now(), now(), 900).unwrap();
        assert_eq!(k.verify_kind(TokenKind::EmailVerification, &session), Err(TokenError::Invalid));
    }

    #[test]
    fn weak_secrets_are_refused() {
        assert_eq!(TokenKeys::new(&Secret::new(b"short".to_vec())).err(), Some(TokenError::WeakSecret));
    }

    #[test]
    fn forged_tokens_are_rejected() {
        let k = keys(SECRET);
        let valid_payload = claims_json(now() + 900, "agora", "session");
        // Sanity: the hand-made signer produces tokens the verifier accepts.
        assert!(k.verify(&hs256(SECRET, r#"{"alg":"HS256","typ":"JWT"}"#, &valid_payload)).is_ok());

        let cases: Vec<(&str, String)> = vec![
            ("alg none", format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(&valid_payload))),
            // HS/RS confusion: an RS256 header, "signed" with a key as HMAC secret.
            ("alg RS256", hs256(SECRET, r#"{"alg":"RS256","typ":"JWT"}"#, &valid_payload)),
            ("alg HS512", hs256(SECRET, r#"{"alg":"HS512","typ":"JWT"}"#, &valid_payload)),
            ("wrong key", hs256(b"another-secret-that-is-long-enough!!", r#"{"alg":"HS256","typ":"JWT"}"#, &valid_payload)),
            ("expired", hs256(SECRET, r#"{"alg":"HS256","typ":"JWT"}"#, &claims_json(now() - 3600, "agora", "session"))),
            ("wrong audience", hs256(SECRET, r#"{"alg":"HS256","typ":"JWT"}"#, &claims_json(now() + 900, "someone-else", "session"))),
            ("wrong typ", hs256(SECRET, r#"{"alg":"HS256","typ":"JWT"}"#, &claims_json(now() + 900, "agora", "api-key"))),
            ("oversized", format!("{}.{}.x", b64(r#"{"alg":"HS256"}"#), "A".repeat(MAX_TOKEN_BYTES))),
            ("garbage", "not.a.jwt".to_string()),
            ("empty", String::new()),
        ];
        for (name, token) in cases {
            assert!(k.verify(&token).is_err(), "{name} must be rejected");
        }

        // Tampered payload: a valid token with its payload swapped.
        let token = k.issue("user-1", 0, now(), now(), 900).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let admin = b64(&valid_payload.replace("\"u1\"", "\"admin\""));
        let tampered = format!("{}.{admin}.{}", parts[0], parts[2]);
        assert_eq!(k.verify(&tampered), Err(TokenError::Invalid));
        assert_eq!(
            k.verify(&hs256(SECRET, r#"{"alg":"HS256","typ":"JWT"}"#, &claims_json(now() - 3600, "agora", "session"))),
            Err(TokenError::Expired)
        );
    }
}
