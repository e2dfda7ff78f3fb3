//! `GET /go/<slug>[/<rest>]`: forward to a bookmark's URL, or explain why not.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::golinks::{self, Resolution};
use crate::http::auth::authenticate_shared;
use crate::state::AppState;
use crate::web::pages::{escape, page};

fn redirect(state: &AppState, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => redirect_to(state, v),
        Err(_) => page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect URL",
            "<h1>Invalid redirect URL</h1>",
        ),
    }
}

fn redirect_to(state: &AppState, location: HeaderValue) -> Response {
    let mut res = Response::new(axum::body::Body::empty());
    *res.status_mut() = StatusCode::FOUND;
    *res.headers_mut() = state.redirect_headers.clone();
    res.headers_mut().insert(header::LOCATION, location);
    res
}

fn login_redirect(state: &AppState, uri: &Uri) -> Response {
    let back = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let encoded: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
    // Same origin (the usual single-binary set-up): a relative redirect works whatever host name
    // the visitor used.
    let front = if state.config.frontend_url == state.config.base_url {
        ""
    } else {
        state.config.frontend_url.as_str()
    };
    redirect(state, &format!("{front}/login?redirect={encoded}"))
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// The route's handler (reached for other methods than GET/HEAD, which [`crate::router::Front`]
/// sends to [`serve`] directly).
pub async fn go(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    serve(&state, req.headers(), req.uri()).await
}

pub async fn serve(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Response {
    let raw = uri.path().strip_prefix("/go/").unwrap_or("");
    let auth = match authenticate_shared(state, headers).await {
        Ok(Some(a)) => a,
        Ok(None) => return login_redirect(state, uri),
        Err(e) => return crate::web::error_page(&e),
    };
    if let Err(wait) = state.go_limiter.check(auth.id(), state.config.go_rate_limit) {
        let mut res = page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "<h1>Slow down</h1><p>Too many go-link requests. Please try again in a minute.</p>",
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }

    // /go/<slug>/remember/<bookmark id>: the "always use this" link of the chooser page.
    let remembered = raw
        .split_once('/')
        .and_then(|(slug, rest)| Some((slug, rest.strip_prefix("remember/")?)))
        .filter(|(_, id)| is_uuid(id));
    if let Some((slug, id)) = remembered {
        let Ok(req) = golinks::parse(slug, None) else {
            return page(StatusCode::BAD_REQUEST, "Invalid slug", "<h1>Invalid slug</h1>");
        };
        return match golinks::remember(&state.db, auth.id(), &req.slug, id).await {
            Ok(c) => {
                state.invalidate_caches();
                match golinks::target(&c.url, &req) {
                    Some(t) => {
                        state.access.hit_id(&c.id);
                        redirect(state, &t)
                    }
                    None => page(
                        StatusCode::BAD_REQUEST,
                        "Invalid redirect URL",
                        "<h1>Invalid redirect URL</h1>",
                    ),
                }
            }
            Err(e) => crate::web::error_page(&e),
        };
    }

    let req =
        match golinks::parse(raw, uri.query()) {
            Ok(r) => r,
            Err(msg) => return page(
                StatusCode::BAD_REQUEST,
                msg,
                "<h1>Invalid slug</h1><p>Slugs contain only letters, digits, hyphens and underscores.</p>",
            ),
        };
    let links = match state
        .go_cache
        .links(&state.db, &state.background, auth.id())
        .await
    {
        Ok(links) => links,
        Err(e) => return crate::web::error_page(&e),
    };
    let resolution = links.resolve(&req.slug);
    match resolution {
        Resolution::Found(c) => {
            // A link without placeholders, asked for without extras: its stored URL, checked
            // when the link table was loaded.
            let url = links.url(c);
            let location = if links.is_plain(c) && req.is_bare() {
                HeaderValue::from_str(url).ok()
            } else {
                golinks::target(url, &req).and_then(|t| HeaderValue::from_str(&t).ok())
            };
            match location {
                Some(v) => {
                    state.access.hit(&links, c);
                    if let Some(m) = &state.metrics {
                        m.forwards.inc();
                    }
                    redirect_to(state, v)
                }
                None => page(
                    StatusCode::BAD_REQUEST,
                    "Invalid redirect URL",
                    "<h1>Invalid redirect URL</h1><p>The bookmark's address cannot be used for forwarding.</p>",
                ),
            }
        }
        Resolution::Choose => {
            let list = match golinks::candidates(&state.db, auth.id(), &req.slug).await {
                Ok(list) => list,
                Err(e) => return crate::web::error_page(&e),
            };
            let slug = escape(&req.slug);
            let rows: String = list
                .iter()
                .map(|c| {
                    // Only http(s) targets become links (never a stored javascript: URL).
                    let title = if c.url_ok {
                        format!(
                            "<a href=\"{}\" rel=\"noreferrer\">{}</a>",
                            escape(&c.url),
                            escape(&c.title)
                        )
                    } else {
                        escape(&c.title)
                    };
                    format!(
                        "<tr><td>{}</td><td>{}</td>\
                         <td><a class=\"button\" href=\"/go/{}/remember/{}\">Always use this</a></td></tr>",
                        title,
                        escape(&c.workspace(auth.id())),
                        slug,
                        escape(&c.id)
                    )
                })
                .collect();
            page(
                StatusCode::OK,
                &format!("Choose · {}", req.slug),
                &format!(
                    "<h1>Several bookmarks match “{slug}”</h1><table><thead><tr><th>Bookmark</th><th>From</th><th>Choice</th></tr></thead>\
                     <tbody>{rows}</tbody></table>"
                ),
            )
        }
        Resolution::Missing => {
            let slug = escape(&req.slug);
            page(
                StatusCode::NOT_FOUND,
                "Not Found - SlugBase",
                &format!(
                    "<h1>No go link “{slug}”</h1><p>No bookmark with this slug and forwarding enabled is in your collection \
                     or shared with you.</p><p><a class=\"button\" href=\"/bookmarks?new=1&amp;slug={slug}\">Create go link “{slug}”</a></p>"
                ),
            )
        }
    }
}

/// OpenSearch description, so browsers offer SlugBase as a search engine (`go <slug>` in the
/// address bar).
pub async fn opensearch(State(state): State<AppState>) -> Response {
    let base = escape(&state.config.base_url);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <OpenSearchDescription xmlns=\"http://a9.com/-/spec/opensearch/1.1/\" xmlns:moz=\"http://www.mozilla.org/2006/browser/search/\">\n\
         <ShortName>SlugBase</ShortName>\n\
         <Description>Go links and bookmarks</Description>\n\
         <InputEncoding>UTF-8</InputEncoding>\n\
         <Url type=\"text/html\" method=\"get\" template=\"{base}/go/{{searchTerms}}\"/>\n\
         <moz:SearchForm>{base}/</moz:SearchForm>\n\
         </OpenSearchDescription>\n"
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/opensearchdescription+xml"),
        )],
        xml,
    )
        .into_response()
}
