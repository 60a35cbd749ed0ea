//! One push to one browser: encrypted for it (RFC 8291, `aes128gcm`), signed as this server
//! (VAPID), posted to its push service, and what the answer means.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::endpoint::{PublicResolver, Reach};
use super::vapid::Vapid;
use crate::clock::unix_millis;
use crate::store::push::Target;

/// How long a push service may keep a push for a browser that is offline.
const TTL_SECS: u64 = 24 * 60 * 60;

/// How long one request to a push service may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The push service took it (2xx).
    Delivered,
    /// The subscription is gone (404, 410): forget it.
    Gone,
    /// Worth trying again later (429, 5xx, no connection, too slow).
    Later(String),
    /// Refused for good (other 4xx, an endpoint or key that cannot be used).
    Refused(String),
}

/// Sends pushes: one HTTP client (connections kept to each push service), this server's key.
#[derive(Debug)]
pub struct Courier {
    client: Client<HttpsConnector<HttpConnector<PublicResolver>>, Full<Bytes>>,
    vapid: Vapid,
    reach: Reach,
}

impl Courier {
    /// A courier signing with `vapid`, reaching push services as `reach` allows.
    pub fn new(vapid: Vapid, reach: Reach) -> Self {
        let mut http = HttpConnector::new_with_resolver(PublicResolver { reach });
        http.enforce_http(false);
        http.set_connect_timeout(Some(REQUEST_TIMEOUT));
        let tls = hyper_rustls::HttpsConnectorBuilder::new().with_webpki_roots();
        let https = match reach {
            Reach::Public => tls.https_only(),
            Reach::Anywhere => tls.https_or_http(),
        }
        .enable_http1()
        .wrap_connector(http);
        Courier {
            client: Client::builder(TokioExecutor::new()).build(https),
            vapid,
            reach,
        }
    }

    /// This server's public key, for browsers to subscribe with.
    pub fn public_key(&self) -> &str {
        self.vapid.public_key()
    }

    /// Pushes `payload` to `target` once.
    pub async fn send(&self, target: &Target, payload: &[u8]) -> Attempt {
        let request = match self.request(target, payload) {
            Ok(request) => request,
            Err(why) => return Attempt::Refused(why),
        };
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request)).await;
        let response = match answer {
            Err(_) => return Attempt::Later("the push service did not answer in time".into()),
            Ok(Err(err)) => return Attempt::Later(format!("cannot reach the push service: {err}")),
            Ok(Ok(response)) => response,
        };
        // The body is not read: the connection is dropped with the response if it has one.
        match response.status() {
            status if status.is_success() => Attempt::Delivered,
            StatusCode::NOT_FOUND | StatusCode::GONE => Attempt::Gone,
            status if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() => {
                Attempt::Later(format!("the push service answered {status}"))
            }
            status => Attempt::Refused(format!("the push service answered {status}")),
        }
    }

    fn request(&self, target: &Target, payload: &[u8]) -> Result<Request<Full<Bytes>>, String> {
        let endpoint: Uri =
            super::endpoint::check(&target.endpoint, self.reach).map_err(str::to_string)?;
        let browser = p256::PublicKey::from_sec1_bytes(&target.p256dh)
            .map_err(|_| "the browser's key is not a P-256 key".to_string())?;
        if target.auth.len() != 16 {
            return Err("the browser's secret is not 16 bytes".into());
        }
        let auth = web_push_native::Auth::clone_from_slice(&target.auth);
        let body = web_push_native::encrypt(payload.to_vec(), &browser, &auth)
            .map_err(|err| format!("cannot encrypt the push: {err}"))?;
        let authorization = self
            .vapid
            .authorization(&endpoint, unix_millis() / 1000)
            .map_err(|err| format!("cannot sign the push: {err}"))?;
        Request::post(endpoint)
            .header("TTL", TTL_SECS)
            .header("Urgency", "high")
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| format!("cannot make the push request: {err}"))
    }
}
