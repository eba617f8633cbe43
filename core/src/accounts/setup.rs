//! The first administrator of a new hub.
//!
//! Registering on an empty hub does not make anyone its owner: whoever
//! reaches a fresh public instance first would. An account becomes the
//! first administrator only with the CLI (`agora admin create-user --admin`)
//! or with the setup code each node prints at start while the hub has no
//! administrator (and writes to `<data-dir>/setup-code`, as Jenkins writes
//! its initial password).
//!
//! The code is derived from the session secret, so every node sharing a
//! bucket prints the same one without coordinating. It is single-use: the
//! first administrator creates `sys/admin-claimed`, which is never removed,
//! and from then on no code is accepted.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

/// The answer to a setup code once the hub has an administrator.
pub const ALREADY_SET_UP: &str = "this hub already has an administrator; leave the setup code empty";

/// Crockford's base32: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 20 symbols of 5 bits: 100 bits, in four groups of five.
const SYMBOLS: usize = 20;
const GROUP: usize = 5;

#[derive(Clone)]
pub struct SetupCode(Secret<String>);

impl std::fmt::Debug for SetupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetupCode(…)")
    }
}

impl SetupCode {
    /// The hub's code, from the secret that signs its sessions.
    pub fn derive(session_secret: &Secret<Vec<u8>>) -> SetupCode {
        let mut mac = Hmac::<Sha256>::new_from_slice(session_secret.expose()).expect("HMAC takes a key of any length");
        mac.update(b"agora first-administrator setup code v1");
        let digest = mac.finalize().into_bytes();
        let mut bits = digest.iter().flat_map(|byte| (0..8).rev().map(move |i| (byte >> i) & 1));
        let mut code = String::with_capacity(SYMBOLS + SYMBOLS / GROUP);
        for n in 0..SYMBOLS {
            if n > 0 && n % GROUP == 0 {
                code.push('-');
            }
            let symbol = (0..5).fold(0usize, |acc, _| acc << 1 | bits.next().unwrap_or(0) as usize);
            code.push(ALPHABET[symbol] as char);
        }
        SetupCode(Secret::new(code))
    }

    /// The code as printed: `XXXXX-XXXXX-XXXXX-XXXXX`.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Whether `given` is this code, as a person may type it: any case,
    /// with or without dashes and spaces, O for 0 and I or L for 1.
    pub fn matches(&self, given: &str) -> bool {
        // Equal digests of the normalised forms; comparing digests reveals
        // nothing about how much of the code a guess got right.
        let digest = |s: &str| Sha256::digest(normalise(s).as_bytes());
        digest(given) == digest(self.expose())
    }
}

fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(secret: &[u8]) -> SetupCode {
        SetupCode::derive(&Secret::new(secret.to_vec()))
    }

    #[test]
    fn the_code_is_stable_per_secret_and_reads_as_four_groups() {
        let one = code(b"a session secret of at least thirty-two bytes");
        assert_eq!(one.expose(), code(b"a session secret of at least thirty-two bytes").expose(), "every node prints the same code");
        assert_ne!(one.expose(), code(b"another session secret of thirty-two bytes!").expose());
        let groups: Vec<&str> = one.expose().split('-').collect();
        assert_eq!(groups.len(), 4);
        assert!(groups.iter().all(|g| g.len() == 5 && g.bytes().all(|b| ALPHABET.contains(&b))), "{}", one.expose());
    }

    #[test]
    fn a_typed_code_matches_however_it_is_written_and_only_the_code_does() {
        let setup = code(b"a session secret of at least thirty-two bytes");
        let printed = setup.expose().to_owned();
        assert!(setup.matches(&printed));
        assert!(setup.matches(&printed.to_lowercase()));
        assert!(setup.matches(&printed.replace('-', " ")));
        assert!(setup.matches(&format!("  {}  ", printed.replace('-', ""))));
        assert!(setup.matches(&printed.replace('0', "o").replace('1', "l")));
        assert!(!setup.matches(""));
        assert!(!setup.matches(&printed[..printed.len() - 1]));
        let mut wrong = printed.clone().into_bytes();
        let last = wrong.len() - 1;
        wrong[last] = if wrong[last] == b'Z' { b'Y' } else { b'Z' };
        assert!(!setup.matches(std::str::from_utf8(&wrong).unwrap()));
    }
}
