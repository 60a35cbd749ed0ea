//! The server's VAPID identity (RFC 8292): a P-256 key made on the first start and kept in the
//! database, whose public half browsers subscribe with, and which signs every push so that
//! push services accept it from this server only.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hyper::Uri;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::Serialize;

/// How long a push's signature is good for (push services take at most 24 hours).
const SIGNATURE_SECS: u64 = 12 * 60 * 60;

/// The key, ready to sign.
pub struct Vapid {
    signing: EncodingKey,
    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url without padding.
    public: String,
    /// Who push services may contact about this server (`mailto:` or `https:`).
    contact: String,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("Vapid")
            .field("public", &self.public)
            .finish()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: u64,
    sub: &'a str,
}

/// A new private key: 32 random bytes that are a valid P-256 scalar.
pub fn new_secret() -> anyhow::Result<Vec<u8>> {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        if p256::SecretKey::from_slice(&bytes).is_ok() {
            return Ok(bytes.to_vec());
        }
    }
}

impl Vapid {
    /// The identity of the private key `secret`, contacted at `contact`.
    pub fn new(secret: &[u8], contact: &str) -> anyhow::Result<Self> {
        let key = p256::SecretKey::from_slice(secret)
            .map_err(|_| anyhow::anyhow!("the stored push key is not a P-256 key"))?;
        let der = key
            .to_pkcs8_der()
            .map_err(|err| anyhow::anyhow!("cannot encode the push key: {err}"))?;
        let public = key.public_key().as_affine().to_encoded_point(false);
        Ok(Vapid {
            signing: EncodingKey::from_ec_der(der.as_bytes()),
            public: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            contact: contact.to_string(),
        })
    }

    /// The public key browsers subscribe with.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header of a push to `endpoint` sent at `now_secs`.
    pub fn authorization(&self, endpoint: &Uri, now_secs: u64) -> anyhow::Result<String> {
        let scheme = endpoint.scheme_str().unwrap_or("https");
        let authority = endpoint
            .authority()
            .ok_or_else(|| anyhow::anyhow!("the push endpoint has no host"))?;
        // The endpoint's origin: the port only where it is not the scheme's own.
        let audience = format!("{scheme}://{authority}");
        let claims = Claims {
            aud: &audience,
            exp: now_secs + SIGNATURE_SECS,
            sub: &self.contact,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.signing)?;
        Ok(format!("vapid t={token}, k={}", self.public))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn a_push_is_signed_for_its_endpoints_origin_with_the_public_key_it_names() {
        let vapid = Vapid::new(&new_secret().unwrap(), "mailto:admin@example.com").unwrap();
        let endpoint: Uri = "https://push.example.com:8443/send/abc".parse().unwrap();
        let header = vapid.authorization(&endpoint, 1_000).unwrap();
        let (token, key) = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap();
        assert_eq!(key, vapid.public_key());
        let point = URL_SAFE_NO_PAD.decode(key).unwrap();
        assert_eq!(point.len(), 65);
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&["https://push.example.com:8443"]);
        validation.validate_exp = false;
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            token,
            &DecodingKey::from_ec_components(
                &URL_SAFE_NO_PAD.encode(&point[1..33]),
                &URL_SAFE_NO_PAD.encode(&point[33..]),
            )
            .unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims["sub"], "mailto:admin@example.com");
        assert_eq!(decoded.claims["exp"], 1_000 + SIGNATURE_SECS);
    }
}
