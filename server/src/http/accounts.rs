//! The pages of accounts mode: set-up (`/setup/{token}`), joining by invitation
//! (`/join/{code}`), signing in and out (`/signin`, `/signout`) and the session cookie they set.
//! Plain server-rendered HTML forms: they work without the page's WebAssembly, which they would
//! otherwise make larger for every visit.
//!
//! Every form that changes something refuses a cross-site request (`Sec-Fetch-Site`, or the
//! `Origin` check the WebSocket uses when a browser sends no `Sec-Fetch-Site`).

use std::sync::Arc;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use serde::Deserialize;

use super::forms::{cross_site, document, escape, is_local_path, message_page, see_other};
use super::Web;
use crate::accounts::{Accounts, Live, Refused, SignedIn};
use crate::close::CloseReason;
use crate::peers::Slot;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "chat_session";

/// What the account pages (these, `/account` and `/admin`) share: the web app and its
/// accounts.
#[derive(Clone)]
pub(super) struct Pages {
    pub(super) web: Arc<Web>,
    pub(super) accounts: Arc<Accounts>,
}

impl Pages {
    /// The pages' state: in accounts mode only.
    pub(super) fn of(web: &Arc<Web>) -> Option<Self> {
        Some(Pages {
            web: web.clone(),
            accounts: web.app.accounts.clone()?,
        })
    }

    /// Serves `routes`, every form among them refused when sent from another site.
    pub(super) fn serve(self, routes: Router<Pages>) -> Router {
        routes
            .route_layer(middleware::from_fn_with_state(
                self.clone(),
                refuse_cross_site,
            ))
            .with_state(self)
    }

    /// The signed-in person, else the answer for a visitor: the sign-in form (back to `path`
    /// after), or "not set up yet".
    pub(super) async fn live(&self, headers: &HeaderMap, path: &str) -> Result<Live, Response> {
        if !self.accounts.is_set_up().await {
            return Err(not_set_up());
        }
        let live = match session_token(headers) {
            Some(token) => self.accounts.session(token).await,
            None => None,
        };
        live.ok_or_else(|| see_other(&format!("/signin?next={path}")))
    }
}

/// The routes of accounts mode (none in other modes).
pub fn routes(web: &Arc<Web>) -> Router {
    let Some(pages) = Pages::of(web) else {
        return Router::new();
    };
    let routes = Router::new()
        .route("/setup/{token}", get(setup_form).post(setup))
        .route("/join/{code}", get(join_form).post(join))
        .route("/signin", get(sign_in_form).post(sign_in))
        .route("/signout", axum::routing::post(sign_out));
    pages.serve(routes)
}

/// Refuses a form (anything but GET and HEAD) sent from another site, for every account page:
/// one check where the routes are served, so that no form can be added without it.
async fn refuse_cross_site(State(pages): State<Pages>, request: Request, next: Next) -> Response {
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    if !reads {
        if let Some(refused) = cross_site(&pages.web, request.headers()) {
            return refused;
        }
    }
    next.run(request).await
}

/// What a name-and-password form sends.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
}

/// Where to go after signing in (a path on this site only).
#[derive(Debug, Deserialize, Default)]
pub struct AfterSignIn {
    next: Option<String>,
}

async fn setup_form(State(pages): State<Pages>, Path(token): Path<String>) -> Response {
    let accounts = &pages.accounts;
    if accounts.is_set_up().await {
        return already_set_up();
    }
    if !accounts.setup_token_valid(&token).await {
        return bad_link();
    }
    credentials_page(StatusCode::OK, &SETUP, None, None, "")
}

async fn setup(
    State(pages): State<Pages>,
    Path(token): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    let agent = user_agent(&headers);
    let made = pages
        .accounts
        .set_up(&token, &form.name, &form.password, &agent)
        .await;
    account_made(
        &pages,
        is_https(&pages.web, peer, &headers),
        made,
        &SETUP,
        &form.name,
    )
}

async fn join_form(State(pages): State<Pages>, Path(code): Path<String>) -> Response {
    if let Some(name) = pages.accounts.personal_name(&code).await {
        let intro = format!(
            "This link makes the account \"{name}\" (the name is kept whatever is typed). \
             Choose its password, at least 8 characters."
        );
        return credentials_page(StatusCode::OK, &JOIN, Some(&intro), None, &name);
    }
    if !pages.accounts.invitation_valid(&code).await {
        return bad_link();
    }
    credentials_page(StatusCode::OK, &JOIN, None, None, "")
}

async fn join(
    State(pages): State<Pages>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    let agent = user_agent(&headers);
    let made = pages
        .accounts
        .join(&code, &form.name, &form.password, &agent)
        .await;
    account_made(
        &pages,
        is_https(&pages.web, peer, &headers),
        made,
        &JOIN,
        &form.name,
    )
}

async fn sign_in_form(State(pages): State<Pages>) -> Response {
    if !pages.accounts.is_set_up().await {
        return not_set_up();
    }
    credentials_page(StatusCode::OK, &SIGN_IN, None, None, "")
}

async fn sign_in(
    State(pages): State<Pages>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    slot: Option<Extension<Arc<Slot>>>,
    Query(next): Query<AfterSignIn>,
    headers: HeaderMap,
    Form(form): Form<Credentials>,
) -> Response {
    if let Some(Extension(slot)) = &slot {
        if let Err(refusal) = pages.web.app.peers.sign_in(slot, peer.ip(), &headers) {
            return super::serve::refusal_response(refusal);
        }
    }
    let agent = user_agent(&headers);
    match pages
        .accounts
        .sign_in(&form.name, &form.password, &agent)
        .await
    {
        Ok(signed_in) => {
            let target = next.next.as_deref().filter(|path| is_local_path(path));
            let https = is_https(&pages.web, peer, &headers);
            signed_in_response(&pages.web, https, signed_in, target.unwrap_or("/"))
        }
        Err(refused) => credentials_page(
            refused.status(),
            &SIGN_IN,
            None,
            Some(&refused.message()),
            &form.name,
        ),
    }
}

async fn sign_out(
    State(pages): State<Pages>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = session_token(&headers) {
        if let Some(live) = pages.accounts.session(token).await {
            let (account, session) = (live.account.id, live.session);
            let _ = pages.accounts.end_session(account, session).await;
            pages
                .web
                .app
                .connections
                .close_signed(|s| s.session == session, CloseReason::SignedOut);
        }
    }
    let https = is_https(&pages.web, peer, &headers);
    with_session_cookie(see_other("/signin"), https, "", 0)
}

/// The session token in a request's cookies.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    super::forms::cookie(headers, SESSION_COOKIE)
}

/// Signed in: the cookie, and on to `target`.
fn signed_in_response(web: &Web, https: bool, signed_in: SignedIn, target: &str) -> Response {
    let max_age = web.app.config.session_ttl.as_secs();
    with_session_cookie(see_other(target), https, &signed_in.token, max_age)
}

/// `response` with the session cookie set (empty with no age: removed): never readable by
/// scripts, not sent on cross-site subrequests or form posts, and only over HTTPS when the
/// site is served over HTTPS.
fn with_session_cookie(mut response: Response, https: bool, token: &str, max_age: u64) -> Response {
    let secure = if https { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// Whether the browser reached this site over HTTPS: `--public-url` says so, or the request
/// came through a trusted proxy whose `X-Forwarded-Proto` says so (from anyone else the
/// header proves nothing).
pub(super) fn is_https(web: &Web, peer: SocketAddr, headers: &HeaderMap) -> bool {
    let app = &web.app;
    if app
        .config
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"))
    {
        return true;
    }
    app.peers.is_trusted_proxy(peer.ip())
        && headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn bad_link() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "This link does not work",
        "It may have been used already, or replaced by a newer one. Ask whoever sent it for a \
         new link.",
    )
}

fn already_set_up() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "This chat is set up",
        "Its set-up link has been used. <a href=\"/signin\">Sign in</a>.",
    )
}

/// What a visitor sees before the first account exists.
pub fn not_set_up() -> Response {
    message_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "This chat is not set up yet",
        "Its owner finishes setting it up with the link the server printed when it started.",
    )
}

/// The words of a name-and-password form.
struct FormText {
    title: &'static str,
    intro: &'static str,
    button: &'static str,
    /// `autocomplete` of the password: `new-password` or `current-password`.
    password_kind: &'static str,
}

const SETUP: FormText = FormText {
    title: "Set up this chat",
    intro: "Choose the name and password of the first account. It will be an administrator: \
            it can invite people and moderate.",
    button: "Create the account",
    password_kind: "new-password",
};

const JOIN: FormText = FormText {
    title: "Join this chat",
    intro: "You were invited. Choose the name others will see, and a password of at least 8 \
            characters.",
    button: "Join",
    password_kind: "new-password",
};

const SIGN_IN: FormText = FormText {
    title: "Sign in",
    intro: "",
    button: "Sign in",
    password_kind: "current-password",
};

/// A name-and-password form; `intro` (else the form's own), `error` and `name` (what was
/// typed) are escaped.
fn credentials_page(
    status: StatusCode,
    text: &FormText,
    intro: Option<&str>,
    error: Option<&str>,
    name: &str,
) -> Response {
    let intro = intro.unwrap_or(text.intro);
    let intro = if intro.is_empty() {
        String::new()
    } else {
        format!("<p>{}</p>", escape(intro))
    };
    let error = error.map_or(String::new(), |error| {
        format!(
            "<p class=\"form-error\" role=\"alert\" id=\"form-error\">{}</p>",
            escape(error)
        )
    });
    let described = if error.is_empty() {
        ""
    } else {
        " aria-describedby=\"form-error\""
    };
    let body = format!(
        "<h1>{title}</h1>{intro}{error}\
         <form method=\"post\" class=\"account-form\">\
         <label for=\"name\">Name</label>\
         <input id=\"name\" name=\"name\" autocomplete=\"username\" required maxlength=\"{max_name}\" value=\"{name}\"{described}>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"{password_kind}\" required minlength=\"{min_password}\"{described}>\
         <button type=\"submit\">{button}</button>\
         </form>",
        title = escape(text.title),
        max_name = chat_shared::MAX_NAME_CHARS,
        name = escape(name),
        password_kind = text.password_kind,
        min_password = crate::accounts::password::MIN_PASSWORD_CHARS,
        button = escape(text.button),
    );
    (status, Html(document(text.title, &body))).into_response()
}

/// The answer to a form that makes an account: signed in and on to the chat, or the form
/// again with why not.
fn account_made(
    pages: &Pages,
    https: bool,
    made: Result<SignedIn, Refused>,
    text: &FormText,
    name: &str,
) -> Response {
    match made {
        Ok(signed_in) => signed_in_response(&pages.web, https, signed_in, "/"),
        Err(Refused::BadLink) => bad_link(),
        Err(refused) => {
            credentials_page(refused.status(), text, None, Some(&refused.message()), name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::COOKIE;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; chat_session=abc; b=2"),
        );
        assert_eq!(session_token(&headers), Some("abc"));
        headers.insert(COOKIE, HeaderValue::from_static("chat_session=; x=y"));
        assert_eq!(session_token(&headers), None);
    }
}
