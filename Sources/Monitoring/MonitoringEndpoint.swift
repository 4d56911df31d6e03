import WorkerIPC

/// What the metrics listener serves: `/metrics` (Prometheus), `/status.json` (what `vigilctl status --json`
/// prints) and `/` (the status page, for a person). Read-only: GET and HEAD, nothing else.
public enum MonitoringEndpoint {
    public enum Page: String, Sendable, Hashable, CaseIterable {
        case metrics = "/metrics"
        case statusJSON = "/status.json"
        case statusPage = "/"
    }

    /// What answers a request: a page rendered from the current snapshot, or a fixed response.
    public enum Route: Sendable, Hashable {
        case page(Page)
        case response(HTTPResponse)
    }

    public static func route(_ head: HTTPRequestHead) -> Route {
        guard head.method == "GET" || head.method == "HEAD" else {
            return .response(
                .text(
                    .methodNotAllowed, "\(head.method) is not served: this endpoint is read-only (GET, HEAD)",
                    headers: [("Allow", "GET, HEAD")]))
        }
        switch head.path {
        case "/metrics": return .page(.metrics)
        case "/status.json": return .page(.statusJSON)
        case "/", "/index.html": return .page(.statusPage)
        default: return .response(.text(.notFound, "not found: /metrics, /status.json and / are served"))
        }
    }

    /// `page` rendered from `snapshot`.
    public static func render(_ page: Page, _ snapshot: MonitoringSnapshot) -> HTTPResponse {
        switch page {
        case .metrics:
            return HTTPResponse(
                .ok, contentType: PrometheusText.contentType, body: Array(VigilMetrics.exposition(snapshot).utf8))
        case .statusJSON:
            return HTTPResponse(
                .ok, contentType: "application/json", body: StatusJSON.encode(snapshot.status) + [0x0a])
        case .statusPage:
            return HTTPResponse(
                .ok, contentType: "text/html; charset=utf-8", body: Array(StatusPage.html(snapshot).utf8),
                headers: [
                    // Nothing but the page's own inline style: no scripts, no frames, no requests elsewhere.
                    (
                        "Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
                    ),
                    ("Referrer-Policy", "no-referrer"),
                ])
        }
    }
}
