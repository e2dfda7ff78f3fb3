//! Prometheus metrics (`METRICS_ENABLED=true`): requests by route template and status, latency
//! histograms, go-link forwards, visit-count flushes, the database pool, the mail outbox and
//! the build. Counting is a few atomic operations per request; everything that needs a query
//! (pool, outbox) is read when `/metrics` is scraped.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::db::Db;
use crate::with_db;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    /// Go-link requests answered with a redirect to the bookmark.
    pub forwards: Counter,
    /// Batches of go-link visits written, and the bookmark rows they updated.
    pub visit_flushes: Counter,
    pub visit_rows_flushed: Counter,
    pool_connections: Gauge<i64, AtomicI64>,
    pool_idle: Gauge<i64, AtomicI64>,
    outbox_queued: Gauge<i64, AtomicI64>,
    /// The series of a forwarded go link (`GET /go/{*rest}` → 302), looked up once: the hot
    /// path counts without a lock, a hash or an allocation.
    go_found: Counter,
    go_found_latency: Histogram,
}

/// The route template of go links.
pub const GO_ROUTE: &str = "/go/{*rest}";

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Metrics {
    pub fn new(commit: Option<&str>) -> Metrics {
        let mut registry = Registry::with_prefix("slugbase");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route template and status",
            requests.clone(),
        );
        let latency =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to the response head, by method and route template",
            latency.clone(),
        );
        let forwards = Counter::default();
        registry.register(
            "go_forwards",
            "Go-link requests forwarded to a bookmark",
            forwards.clone(),
        );
        let visit_flushes = Counter::default();
        registry.register(
            "visit_flushes",
            "Batches of go-link visit counts written to the database",
            visit_flushes.clone(),
        );
        let visit_rows_flushed = Counter::default();
        registry.register(
            "visit_rows_flushed",
            "Bookmark visit counts updated by those batches (one per bookmark per batch)",
            visit_rows_flushed.clone(),
        );
        let pool_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open database connections in the pool",
            pool_connections.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections in the pool",
            pool_idle.clone(),
        );
        let outbox_queued = Gauge::default();
        registry.register(
            "mail_outbox_queued",
            "Messages waiting in the mail outbox (pending or being sent)",
            outbox_queued.clone(),
        );
        let mut labels = vec![("version".to_string(), env!("CARGO_PKG_VERSION").to_string())];
        if let Some(c) = commit {
            labels.push(("commit".to_string(), c.to_string()));
        }
        registry.register("build", "The running build", Info::new(labels));
        let go_found = requests
            .get_or_create(&RequestLabels {
                method: "GET".into(),
                route: GO_ROUTE.into(),
                status: 302,
            })
            .clone();
        let go_found_latency = latency
            .get_or_create(&RouteLabels {
                method: "GET".into(),
                route: GO_ROUTE.into(),
            })
            .clone();
        Metrics {
            go_found,
            go_found_latency,
            registry,
            requests,
            latency,
            forwards,
            visit_flushes,
            visit_rows_flushed,
            pool_connections,
            pool_idle,
            outbox_queued,
        }
    }

    /// One go-link request of the fast path.
    pub fn observe_go(&self, method: &str, status: u16, seconds: f64) {
        if status == 302 && method == "GET" {
            self.go_found.inc();
            self.go_found_latency.observe(seconds);
        } else {
            self.observe(method, GO_ROUTE, status, seconds);
        }
    }

    /// One answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The text exposition, with the pool and the outbox read now.
    pub async fn render(&self, db: &Db) -> String {
        let (size, idle) = with_db!(db, pool => (pool.size(), pool.num_idle()));
        let _ = self.pool_connections.set(i64::from(size));
        let _ = self.pool_idle.set(idle as i64);
        let queued: Result<i64, sqlx::Error> = with_db!(db, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE status IN ('pending', 'sending')")
            .fetch_one(pool).await);
        match queued {
            Ok(n) => {
                let _ = self.outbox_queued.set(n);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: cannot count the outbox"),
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics: cannot encode");
        }
        out
    }
}
