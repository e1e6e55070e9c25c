//! Opaque, tamper-evident pagination cursors: a DynamoDB start key, signed with HMAC-SHA256.

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The longest cursor we will look at; ours are far shorter.
const MAX_LEN: usize = 2048;

/// Signs and checks cursors with a secret of the deployment.
#[derive(Clone)]
pub struct CursorSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for CursorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSigner(..)")
    }
}

impl CursorSigner {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self { key: secret.as_ref().to_vec() }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(payload);
        mac
    }

    pub fn encode(&self, key: &BTreeMap<String, String>) -> String {
        let payload = serde_json::to_vec(key).expect("a map of strings serializes");
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", B64.encode(&payload), B64.encode(tag))
    }

    /// The start key a cursor carries, if it is one we signed.
    pub fn decode(&self, cursor: &str) -> Result<BTreeMap<String, String>> {
        let invalid = || Error::invalid("cursor", "is not a cursor this API issued");
        if cursor.len() > MAX_LEN {
            return Err(invalid());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = B64.decode(payload).map_err(|_| invalid())?;
        let tag = B64.decode(tag).map_err(|_| invalid())?;
        self.mac(&payload).verify_slice(&tag).map_err(|_| invalid())?;
        serde_json::from_slice(&payload).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> BTreeMap<String, String> {
        BTreeMap::from([("pk".into(), "ORDER#1".into()), ("sk".into(), "METADATA".into())])
    }

    #[test]
    fn a_cursor_round_trips() {
        let signer = CursorSigner::new("secret");
        assert_eq!(signer.decode(&signer.encode(&key())).unwrap(), key());
    }

    #[test]
    fn a_tampered_or_foreign_cursor_is_rejected() {
        let signer = CursorSigner::new("secret");
        let cursor = signer.encode(&key());
        let (payload, tag) = cursor.split_once('.').unwrap();
        let forged = B64.encode(br#"{"pk":"ORDER#2","sk":"METADATA"}"#);
        for bad in [
            format!("{forged}.{tag}"),
            format!("{payload}.{}", B64.encode([0u8; 32])),
            CursorSigner::new("other").encode(&key()),
            "garbage".into(),
            "a.b.c".into(),
            "x".repeat(5000),
        ] {
            assert!(matches!(signer.decode(&bad), Err(Error::Validation { .. })), "{bad}");
        }
    }
}
