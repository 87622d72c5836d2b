"""GET /healthz (AMI, database and, scaled out, Redis bus status) and GET /metrics (Prometheus).

Scaled out, a bridge instance that hears another bridge instance on its Redis
channels is degraded (503, `problems` says which two): both would run every
forwarded agent action. The routes read the bus link's own `health()` (one typed
value whichever side the link is), never its class.

Layer: edge. Both need a session like every other route; /metrics is
supervisor data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from agent_console.auth import ANY, SUPERVISOR, SessionUser
from agent_console.scaleout.health import BusHealth
from agent_console.services import Services, ServicesDep

router = APIRouter(tags=["operations"])


def _bus(services: Services) -> BusHealth:
    """Whatever the link is (bridge relay, web remote, none), it answers for itself."""
    return services.bus_link.health() if services.bus_link is not None else BusHealth.in_process()


@router.get("/healthz")
def healthz(services: ServicesDep, response: Response, who: Annotated[SessionUser, ANY]) -> dict[str, Any]:
    db = services.database_ok()
    ami = bool(services.pbx and services.pbx.connected)
    bus = _bus(services)
    needs_pbx = services.settings.ami_enabled or services.settings.web_only
    ok = db and bus.up and (ami or not needs_pbx) and not bus.problems
    response.status_code = 200 if ok else 503
    return {"status": "ok" if ok else "degraded", "database": "ok" if db else "unavailable",
            "ami": "connected" if ami else ("disconnected" if needs_pbx else "disabled"),
            "bus": bus.details, "problems": list(bus.problems),
            "db_backlog": services.writer.backlog, "websocket_clients": services.hub.clients}


@router.get("/metrics")
def metrics(services: ServicesDep, who: Annotated[SessionUser, SUPERVISOR]) -> Response:
    reg = CollectorRegistry()
    now = services.clock()

    def gauge(name: str, doc: str, value: float, **labels: str) -> None:
        g = Gauge(name, doc, list(labels), registry=reg)
        (g.labels(**labels) if labels else g).set(value)

    gauge("hotline_ami_connected", "1 when the AMI connection is up (via the bridge instance when web-only)",
          float(bool(services.pbx and services.pbx.connected)))
    bus = _bus(services)
    gauge("hotline_bus_connected", "1 when the event bus is up (Redis, when HOTLINE_REDIS_URL is set)",
          float(bus.up))
    gauge("hotline_bridge_duplicates", "other bridge instances heard on this bridge instance's Redis channels now",
          len(bus.duplicate_bridges))
    gauge("hotline_bridge_duplicate_detections_total",
          "times another bridge instance was first heard on this bridge instance's Redis channels",
          bus.duplicate_detections)
    gauge("hotline_db_backlog", "call updates waiting to be written", services.writer.backlog)
    gauge("hotline_db_write_retries_total", "call updates written again (database unavailable, or the writer's "
          "process died)", services.writer.retries)
    gauge("hotline_writer_restarts_total", "times the writer's process died and was started again",
          services.writer.restarts)
    gauge("hotline_websocket_clients", "connected WebSocket clients", services.hub.clients)
    gauge("hotline_ws_messages_sent_total", "messages queued to WebSocket clients", services.hub.sent)
    gauge("hotline_ws_clients_dropped_total", "slow WebSocket clients dropped", services.hub.dropped_clients)
    if services.gc is not None:  # HOTLINE_GC_FULL_EVERY
        gauge("hotline_gc_full_passes_total", "full garbage collections made at a quiet moment", services.gc.passes)
        gauge("hotline_gc_full_passes_forced_total", "of them: no quiet moment came in time", services.gc.forced)
        gauge("hotline_gc_full_pass_longest_ms", "the longest full garbage collection, ms",
              services.gc.longest_pause_ms)
    waiting = Gauge("hotline_queue_waiting", "callers waiting", ["queue"], registry=reg)
    longest = Gauge("hotline_queue_longest_wait_seconds", "longest current wait", ["queue"], registry=reg)
    for name in sorted(services.queue_feed.projection.queues):
        view = services.queue_feed.projection.view(name, now)
        waiting.labels(queue=name).set(len(view.waiting))
        longest.labels(queue=name).set(view.longest_wait_seconds or 0.0)
    return Response(generate_latest(reg), media_type=CONTENT_TYPE_LATEST)
