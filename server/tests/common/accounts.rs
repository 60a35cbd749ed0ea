//! Accounts mode from a test's side: a server that needs sign-in, forms posted as a browser
//! on the site's own page posts them, and sockets that present a session cookie.

use chat_server::config::Access;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::{Client, TestServer};

pub async fn accounts_server() -> TestServer {
    TestServer::start_with(|config| config.access = Access::Accounts).await
}

/// A fresh set-up token (what the server logs at start, made anew).
pub async fn setup_token(server: &TestServer) -> String {
    let accounts = server.state.accounts.as_ref().expect("accounts mode");
    accounts
        .new_setup_token()
        .await
        .unwrap()
        .expect("not set up yet")
}

/// Posts a form the way a browser on the site's own page does.
pub async fn post_form(
    server: &TestServer,
    path: &str,
    body: &str,
    extra: &str,
) -> (u16, String, String) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nSec-Fetch-Site: same-origin\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n{extra}\
         Connection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    server.exchange_with_head(&request).await
}

pub async fn get_with_cookie(
    server: &TestServer,
    path: &str,
    cookie: &str,
) -> (u16, String, String) {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    server.exchange_with_head(&request).await
}

/// The `Set-Cookie` line of a response head.
pub fn set_cookie(head: &str) -> Option<&str> {
    head.lines().find_map(|line| {
        line.strip_prefix("set-cookie: ")
            .or_else(|| line.strip_prefix("Set-Cookie: "))
    })
}

/// The `name=value` of the session cookie a response sets.
pub fn session_pair(head: &str) -> String {
    let line = set_cookie(head).unwrap_or_else(|| panic!("no Set-Cookie in\n{head}"));
    line.split(';').next().unwrap().to_string()
}

/// Sets the server up with an administrator `admin` / `correct horse`; returns its cookie.
pub async fn set_up(server: &TestServer) -> String {
    let token = setup_token(server).await;
    let (status, head, _) = post_form(
        server,
        &format!("/setup/{token}"),
        "name=admin&password=correct+horse",
        "",
    )
    .await;
    assert_eq!(status, 303, "{head}");
    session_pair(&head)
}

/// A WebSocket client that presents `cookie` (none: `None`); `Err` with the HTTP status when
/// the upgrade is refused.
pub async fn connect_with(server: &TestServer, cookie: Option<&str>) -> Result<Client, u16> {
    let mut request = server.ws_url().into_client_request().unwrap();
    if let Some(cookie) = cookie {
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(cookie).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(Client::new(ws)),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("connect: {other}"),
    }
}

/// The header line that presents `cookie`, for [`post_form`]'s `extra`.
pub fn cookie_header(cookie: &str) -> String {
    format!("Cookie: {cookie}\r\n")
}

/// Makes the account `name` (password `battery staple`) through the invitation link; returns
/// its session cookie.
pub async fn invite(server: &TestServer, name: &str) -> String {
    let accounts = server.state.accounts.as_ref().expect("accounts mode");
    let code = accounts.invitation().await.unwrap();
    let (status, head, _) = post_form(
        server,
        &format!("/join/{code}"),
        &format!("name={name}&password=battery+staple"),
        "",
    )
    .await;
    assert_eq!(status, 303, "{head}");
    session_pair(&head)
}

/// Signs in to the account `name` (password `battery staple`, as [`invite`] makes it) as
/// another browser would; that browser's session cookie.
pub async fn sign_in(server: &TestServer, name: &str) -> String {
    let (status, head, _) = post_form(
        server,
        "/signin",
        &format!("name={name}&password=battery+staple"),
        "",
    )
    .await;
    assert_eq!(status, 303, "{head}");
    session_pair(&head)
}

/// A socket of `cookie`, in the lobby (its `joined` read).
pub async fn socket(server: &TestServer, cookie: &str) -> Client {
    let mut client = connect_with(server, Some(cookie)).await.unwrap();
    client.rx.joined().await;
    client
}

/// The account id of the account called `name`.
pub async fn id_of(server: &TestServer, name: &str) -> i64 {
    let accounts = server.state.accounts.as_ref().expect("accounts");
    let people = accounts.people().await.unwrap();
    people.iter().find(|a| a.name == name).unwrap().id
}

/// The room a form's answer sends the browser to (`Location: /r/<room>`).
pub fn room_of(head: &str) -> String {
    head.lines()
        .find_map(|line| {
            let lower = line.to_ascii_lowercase();
            lower
                .strip_prefix("location: /r/")
                .map(|room| room.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no room in\n{head}"))
}

/// Makes the private room `title` as `cookie`, with `members`; returns its name.
pub async fn private_room(server: &TestServer, cookie: &str, title: &str, members: &str) -> String {
    let (status, head, _) = post_form(
        server,
        "/rooms/new",
        &format!("title={title}&members={members}"),
        &cookie_header(cookie),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    room_of(&head)
}
