//! Page metadata fetching, with the SSRF guard: private addresses are refused, also after a
//! redirect; an explicitly allowed host works.

use crate::common::{expect_error, sign_in_admin, Backend, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A one-response-per-connection HTTP server on `ip`, answering every request with `response`.
async fn canned_server(ip: &str, response: String) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind(format!("{ip}:0")).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (port, hits)
}

fn page(html: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
        html.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_fetch_refuses_private_targets() {
    // The loopback target a malicious page would redirect to.
    let (target_port, target_hits) = canned_server("127.0.0.1", page("<title>internal admin</title>")).await;
    let (redirect_port, _) = canned_server(
        "127.0.0.2",
        format!("HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{target_port}/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    )
    .await;
    let (page_port, _) = canned_server(
        "127.0.0.2",
        page(
            "<html><head><title>A &amp; B\n page</title><meta name=\"description\" content=\"About it\">\
              <link rel=\"icon\" href=\"/fav.png\"></head><body>hi</body></html>",
        ),
    )
    .await;
    // 127.0.0.2 stands in for a public site: allowed explicitly, as an admin would allow an intranet host.
    let app = TestApp::spawn_with(Backend::Sqlite, &[("METADATA_ALLOW_HOSTS", "127.0.0.2")])
        .await
        .unwrap();
    sign_in_admin(&app).await;

    let res = app
        .get("/api/bookmarks/metadata?url=http://127.0.0.1/")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "URL_NOT_ALLOWED").await;
    let res = app
        .get(&format!(
            "/api/bookmarks/metadata?url=http://127.0.0.1:{target_port}/"
        ))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "URL_NOT_ALLOWED").await;
    let res = app
        .get("/api/bookmarks/metadata?url=http://localhost/")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "URL_NOT_ALLOWED").await;
    let res = app
        .get("/api/bookmarks/metadata?url=http://169.254.169.254/latest/meta-data/")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "URL_NOT_ALLOWED").await;
    let res = app
        .get(&format!(
            "/api/bookmarks/metadata?url=http://127.0.0.2:{redirect_port}/"
        ))
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "URL_NOT_ALLOWED").await;
    assert_eq!(
        target_hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the private target was never contacted"
    );
    let res = app
        .get("/api/bookmarks/metadata?url=javascript:alert(1)")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "VALIDATION_ERROR").await;

    let (s, v) = app
        .get_json(&format!(
            "/api/bookmarks/metadata?url=http://127.0.0.2:{page_port}/"
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["title"], "A & B page");
    assert_eq!(v["description"], "About it");
    assert_eq!(v["favicon_url"], format!("http://127.0.0.2:{page_port}/fav.png"));

    assert_eq!(
        app.other_client()
            .get_json("/api/bookmarks/metadata?url=http://127.0.0.2/")
            .await
            .0,
        401
    );
    app.finish().await;
}
