//! Signing deliveries and verifying them, as the payment platforms do (Stripe's scheme).
//!
//! Every delivery carries `Serial-Ledger-Signature: t=<unix seconds>,v1=<hex>`, where the hex
//! is HMAC-SHA256 keyed with the endpoint's secret over `"<t>.<raw body>"`. Signing the
//! timestamp with the body lets a receiver refuse a captured request replayed later (check
//! that `t` is recent); signing the raw bytes means the receiver must verify before parsing
//! the JSON, since re-serialising it may change the bytes.
//!
//! [`verify_signature`] is what integrators do on their side; the integration tests use it
//! on every request their receiver gets.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Serial-Ledger-Signature";

/// How far from now a signature's timestamp may be by default when verifying: five minutes,
/// as Stripe's libraries default to.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Why a signature header does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header has no `t=<unix seconds>` element.
    #[error("the signature header has no timestamp (t=...)")]
    MissingTimestamp,
    /// The header has no `v1=<hex>` element.
    #[error("the signature header has no v1 signature")]
    MissingSignature,
    /// The timestamp is further from now than the tolerance: possibly a replayed request.
    #[error("the signature timestamp is {age_seconds} s away from now, beyond the tolerance")]
    OutsideTolerance {
        /// How far the timestamp is from now, in seconds.
        age_seconds: u64,
    },
    /// No `v1` signature matches the body and secret.
    #[error("no signature matches the body")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (longer ones are hashed first): this cannot fail,
    // whatever the secret.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC-SHA256 accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `Serial-Ledger-Signature` value for `body` signed with `secret` at `timestamp`
/// (unix seconds): `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let signature = hex::encode(mac(secret, timestamp, body).finalize().into_bytes());
    format!("t={timestamp},v1={signature}")
}

fn unix_now() -> i64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// Verifies a delivery as a receiver should: `header` is the `Serial-Ledger-Signature` value,
/// `body` the raw request body (before any JSON parsing), `tolerance` how far the signed
/// timestamp may be from now ([`DEFAULT_TOLERANCE`] is a good choice).
///
/// Several `v1` elements are accepted (any one matching is enough), so a header may carry
/// signatures with an old and a new secret during a rotation. Comparison is constant-time.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    tolerance: Duration,
) -> Result<(), SignatureError> {
    verify_signature_at(secret, header, body, tolerance, unix_now())
}

/// [`verify_signature`] at a given `now` (unix seconds).
pub fn verify_signature_at(
    secret: &str,
    header: &str,
    body: &[u8],
    tolerance: Duration,
    now: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for element in header.split(',') {
        match element.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.trim().parse::<i64>().ok(),
            Some(("v1", value)) => {
                // A signature that is not hex cannot match; skip it rather than fail, so an
                // unknown future encoding beside a valid v1 still verifies.
                if let Ok(bytes) = hex::decode(value.trim()) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::MissingTimestamp)?;
    if signatures.is_empty() {
        return Err(SignatureError::MissingSignature);
    }
    let age_seconds = now.abs_diff(timestamp);
    if age_seconds > tolerance.as_secs() {
        return Err(SignatureError::OutsideTolerance { age_seconds });
    }
    let expected = mac(secret, timestamp, body);
    if signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_0123456789abcdef";
    const BODY: &[u8] = br#"{"id":"e1","type":"SerialAssigned"}"#;

    #[test]
    fn webhooks_a_signature_is_hmac_sha256_of_the_timestamp_and_the_body() {
        // Computed independently: printf '1700000000.%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET"
        let expected = {
            let mut mac = HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(b"1700000000.");
            mac.update(BODY);
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(
            signature_header(SECRET, 1_700_000_000, BODY),
            format!("t=1700000000,v1={expected}")
        );
    }

    #[test]
    fn webhooks_a_signature_verifies_with_its_secret_within_the_tolerance() {
        let header = signature_header(SECRET, 1_700_000_000, BODY);
        let tolerance = Duration::from_secs(300);
        assert_eq!(
            verify_signature_at(SECRET, &header, BODY, tolerance, 1_700_000_100),
            Ok(())
        );
        assert_eq!(
            verify_signature_at(SECRET, &header, BODY, tolerance, 1_700_000_301),
            Err(SignatureError::OutsideTolerance { age_seconds: 301 })
        );
    }

    #[test]
    fn webhooks_a_changed_body_or_another_secret_does_not_verify() {
        let header = signature_header(SECRET, 1_700_000_000, BODY);
        let tolerance = Duration::from_secs(300);
        assert_eq!(
            verify_signature_at(SECRET, &header, b"{}", tolerance, 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature_at(
                "another-secret-0000",
                &header,
                BODY,
                tolerance,
                1_700_000_000
            ),
            Err(SignatureError::Mismatch)
        );
        // A timestamp changed by an attacker breaks the signature too.
        let moved = header.replace("t=1700000000", "t=1700000050");
        assert_eq!(
            verify_signature_at(SECRET, &moved, BODY, tolerance, 1_700_000_050),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn webhooks_any_of_several_v1_signatures_may_match() {
        let good = signature_header(SECRET, 1_700_000_000, BODY);
        let header = format!("t=1700000000,v1=00ff,{}", &good["t=1700000000,".len()..]);
        assert_eq!(
            verify_signature_at(SECRET, &header, BODY, DEFAULT_TOLERANCE, 1_700_000_000),
            Ok(())
        );
    }

    #[test]
    fn webhooks_a_header_without_timestamp_or_signature_is_refused() {
        assert_eq!(
            verify_signature_at(SECRET, "v1=00", BODY, DEFAULT_TOLERANCE, 0),
            Err(SignatureError::MissingTimestamp)
        );
        assert_eq!(
            verify_signature_at(SECRET, "t=0", BODY, DEFAULT_TOLERANCE, 0),
            Err(SignatureError::MissingSignature)
        );
    }
}
