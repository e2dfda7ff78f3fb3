//! Assembles the application: the JSON API's routes ([`crate::api`]), the pages ([`crate::web`])
//! and the API documentation, behind the layers every response passes (request ids, tracing,
//! panics, CSRF checks, cache invalidation after writes, the JSON error envelope, security
//! headers) — and the fast path that answers `/go/…` before any of them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::error::Error;
use crate::http::error::Rendered;
use crate::http::{auth, docs, is_api_path, SecurityHeaders};
use crate::state::AppState;

fn router(state: AppState, headers: Arc<SecurityHeaders>) -> Router {
    let (api, openapi) = crate::api::router().split_for_parts();
    let openapi = Arc::new(crate::api::finish_openapi(openapi));

    let mut app = Router::new()
        .merge(api)
        .merge(docs::router(openapi, state.config.api_docs))
        .merge(crate::web::router())
        .fallback(fallback)
        // JSON bodies are limited to 10 MiB by our Json extractor; this is the ceiling for imports.
        .layer(DefaultBodyLimit::max(
            state.config.max_import_bytes.max(state.config.max_body_bytes),
        ));

    if let Some(metrics) = state.metrics.clone() {
        app = app
            .route("/metrics", axum::routing::get(crate::http::metrics::serve))
            .route_layer(middleware::from_fn_with_state(
                metrics,
                crate::http::metrics::track,
            ));
    }

    if !state.config.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = state
            .config
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_credentials(true)
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::AUTHORIZATION,
                    HeaderName::from_static("x-csrf-token"),
                ])
                .max_age(Duration::from_secs(600)),
        );
    }

    let x_request_id = HeaderName::from_static("x-request-id");
    let edge = Arc::new(Edge {
        state: state.clone(),
        headers,
    });
    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(x_request_id))
            .layer(CatchPanicLayer::custom(on_panic))
            .layer(middleware::from_fn_with_state(edge, edge_layer)),
    )
    .with_state(state)
}

struct Edge {
    state: AppState,
    headers: Arc<SecurityHeaders>,
}

/// Everything every request passes, in one layer: the request's log span (with its id), the
/// CSRF check for writes, cache invalidation after writes, the JSON error envelope under `/api`,
/// and the security headers.
async fn edge_layer(State(edge): State<Arc<Edge>>, req: Request, next: Next) -> Response {
    use tracing::Instrument;
    // Go-link redirects are the hot path and log nothing of their own: no span for them (its
    // fields were a tenth of a redirect's cost).
    let span = if req.uri().path().starts_with("/go/") {
        tracing::Span::none()
    } else {
        tracing::info_span!(
            "request",
            request_id = %req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or(""),
            method = %req.method(),
            path = %req.uri().path()
        )
    };
    let api = is_api_path(req.uri().path());
    let write = auth::is_write(req.method());
    let page = if api { None } else { crate::web::before(&req) };
    let refused = if !write {
        None
    } else if api {
        auth::csrf_refusal(&edge.state, &req)
    } else {
        crate::web::cross_site_refusal(&req)
    };
    let mut res = match refused {
        Some(refused) => refused,
        None => {
            let res = next.run(req).instrument(span).await;
            if write {
                // Any write may change what cached reads show.
                edge.state.invalidate_caches();
            }
            res
        }
    };
    if let Some(page) = page {
        res = crate::web::after(&edge.state, page, res).await;
    }
    let status = res.status();
    if api
        && (status.is_client_error() || status.is_server_error())
        && res.extensions().get::<Rendered>().is_none()
    {
        let mut out = crate::http::error::envelope(status);
        for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
            if let Some(v) = res.headers().get(&name) {
                out.headers_mut().insert(name, v.clone());
            }
        }
        res = out;
    }
    edge.headers.apply(res.headers_mut());
    res
}

/// What [`crate::serve`] runs for each connection: `GET`/`HEAD /go/…` goes straight to the go-link
/// handler — the hot path skips routing, request ids, the span and the edge layer, and gets the
/// same security headers —, everything else passes the router and all its layers.
#[derive(Clone)]
pub struct Front {
    router: Router,
    state: AppState,
    headers: Arc<SecurityHeaders>,
}

impl Front {
    pub fn new(state: AppState) -> Front {
        let headers = Arc::new(SecurityHeaders::new(&state));
        Front {
            router: router(state.clone(), headers.clone()),
            state,
            headers,
        }
    }

    /// The service for one connection from `peer`.
    pub fn connection(&self, peer: std::net::SocketAddr) -> FrontConn {
        FrontConn {
            front: self.clone(),
            peer: axum::extract::ConnectInfo(peer),
        }
    }

    fn is_go(req: &Request) -> bool {
        req.uri().path().starts_with("/go/") && (req.method() == Method::GET || req.method() == Method::HEAD)
    }
}

#[derive(Clone)]
pub struct FrontConn {
    front: Front,
    peer: axum::extract::ConnectInfo<std::net::SocketAddr>,
}

type BoxedResponse =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, std::convert::Infallible>> + Send>>;

impl tower::Service<Request> for FrontConn {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::Either<
        axum::routing::future::RouteFuture<std::convert::Infallible>,
        BoxedResponse,
    >;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        use futures_util::FutureExt;
        if Front::is_go(&req) {
            let (state, headers) = (self.front.state.clone(), self.front.headers.clone());
            return futures_util::future::Either::Right(Box::pin(async move {
                // Only metrics need the time: no clock read per redirect without them.
                let started = state.metrics.is_some().then(std::time::Instant::now);
                let answer =
                    std::panic::AssertUnwindSafe(crate::web::go::serve(&state, req.headers(), req.uri()))
                        .catch_unwind()
                        .await;
                let mut res = answer.unwrap_or_else(on_panic);
                // Redirects carry their own (see [`redirect_headers`]).
                if !res.status().is_redirection() {
                    headers.apply(res.headers_mut());
                }
                if let (Some(m), Some(started)) = (&state.metrics, started) {
                    // The route template this fast path stands for.
                    let method = if req.method() == Method::HEAD {
                        "HEAD"
                    } else {
                        "GET"
                    };
                    m.observe_go(method, res.status().as_u16(), started.elapsed().as_secs_f64());
                }
                Ok(res)
            }));
        }
        req.extensions_mut().insert(self.peer);
        futures_util::future::Either::Left(tower::Service::call(&mut self.front.router, req))
    }
}

fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Error::internal().into_response()
}

async fn fallback(req: Request) -> Response {
    if is_api_path(req.uri().path()) || req.uri().path().starts_with("/api-docs") {
        Error::not_found("Not found").into_response()
    } else {
        crate::web::not_found_page()
    }
}
