#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""auteur-quality-httpd under systemd-socket-activate, with auteur-qualityd on a private bus: every
endpoint, status code and content type; HEAD, keep-alive, pipelining, HTTP/1.0; caches that follow the
daemon's signals; an unreachable daemon; promtool on /metrics; a clean exit."""

import shutil
import signal
import socket
import subprocess
import time

import httpd_harness
from httpd_harness import Client, request_bytes, wait_for

JSON = "application/json"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"
METRICS = ("quality_config_last_modified", "quality_config_valid", "quality_config_generation",
           "quality_workflow_missing_total", "quality_tier_selection_total", "quality_reload_total",
           "quality_mappings", "quality_health_status")

# Tier high disabled (409), tier standard enabled but unmapped (404), scene_generation gone.
DEPLOYED = """\
environment: test
quality_system:
  enabled: true
  tiers:
    - {name: low, description: "Low", enabled: true}
    - {name: standard, description: "Standard", enabled: true}
    - {name: high, description: "High", enabled: false}
workflows:
  mappings:
    character_portrait:
      low: {workflow_path: library/image_generation/character_portrait/low_v1, parameters: {steps: 20}}
      high: {workflow_path: library/image_generation/character_portrait/high_v1, parameters: {steps: 60}}
"""


def check(tap, h, path, status, content_type=JSON, method="GET"):
    r = h.get(path, method)
    tap.ok(r.status == status and r.headers.get("content-type") == content_type,
           f"{method} {path} is {status} with Content-Type {content_type}", r)
    return r


def test_endpoints(tap, h):
    health = check(tap, h, "/health", 200)
    body = health.json()
    tap.ok(body.get("status") == "healthy" and set(body.get("checks", {})) >= {"configuration", "workflows",
                                                                                "permissions"}
           and body.get("failed_checks") == [], "/health carries the daemon's health JSON", body)
    api = check(tap, h, "/api/v1/quality/health", 200)
    tap.ok(api.body == health.body, "/api/v1/quality/health answers the same cached JSON as /health")
    tap.ok(h.get("/health?verbose=1").body == health.body, "a query string does not change the resource")

    ready = check(tap, h, "/api/v1/quality/ready", 200).json()
    tap.ok(ready.get("status") == "ready" and ready.get("health") == "healthy", "/ready says ready", ready)

    version = check(tap, h, "/api/v1/quality/version", 200).json()
    tap.ok(version.get("system") == "quality-tier-system" and
           version.get("supported_tiers") == ["low", "standard", "high"] and version.get("version") and
           version.get("config_version") == 1,
           "/version names the system, its version, the tiers and the config generation", version)

    tiers = check(tap, h, "/api/v1/quality/tiers/character_portrait", 200).json()
    tap.ok(tiers.get("task_type") == "character_portrait" and
           set(tiers.get("available_tiers", {})) == {"low", "standard", "high"},
           "/tiers/character_portrait lists low, standard and high", tiers)
    again = h.get("/api/v1/quality/tiers/character_portrait")
    tap.ok(again.status == 200 and again.json() == tiers,
           "a second /tiers answer (from the cache) is the same")
    check(tap, h, "/api/v1/quality/tiers/scene_generation", 200)
    missing = check(tap, h, "/api/v1/quality/tiers/no_such_task", 404)
    tap.ok("no_such_task" in missing.json().get("message", ""), "the 404 names the task type", missing)
    check(tap, h, "/api/v1/quality/tiers/Not-A-Name", 404)
    check(tap, h, "/api/v1/quality/tiers/", 404)
    check(tap, h, "/api/v1/quality/tiers/character_portrait/extra", 404)

    render = check(tap, h, "/api/v1/quality/render/character_portrait/high", 200).json()
    tap.ok(isinstance(render.get("prompt"), dict) and
           any(n.get("class_type") == "KSampler" and n["inputs"].get("steps") == 60
               for n in render["prompt"].values()),
           "/render returns the workflow with the tier's parameters applied")
    check(tap, h, "/api/v1/quality/render/no_such_task/high", 404)
    check(tap, h, "/api/v1/quality/render/character_portrait/ultra", 404)
    check(tap, h, "/api/v1/quality/render/character_portrait", 404)

    metrics = check(tap, h, "/metrics", 200, PROMETHEUS)
    text = metrics.body.decode()
    tap.ok(all(f"# HELP {m} " in text and f"# TYPE {m} " in text for m in METRICS),
           "/metrics has HELP and TYPE for every metric of the SPEC", text)
    tap.ok('quality_tier_selection_total{task_type="character_portrait",tier="high"} 1\n' in text,
           "/metrics counts the render", text)
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=metrics.body, capture_output=True)
        tap.ok(p.returncode == 0, "promtool check metrics accepts /metrics", p.stdout + p.stderr)
    else:
        tap.skip("promtool check metrics accepts /metrics", "promtool is not installed")

    for path in ("/", "/nope", "/health/", "/HEALTH", "/api/v1/quality", "/api/v1/quality/ready/x",
                 "/metrics.txt"):
        check(tap, h, path, 404)


def test_metrics_cache(tap, h):
    # GetMetrics is called at most once a second: a render just after a fetch shows only a second later.
    time.sleep(1.2)
    first = h.get("/metrics").body
    h.get("/api/v1/quality/render/character_portrait/low")
    second = h.get("/metrics").body
    tap.ok(first == second, "/metrics within a second of the last call is served from the cache")
    time.sleep(1.2)
    third = h.get("/metrics").body
    tap.ok(third != first and b'task_type="character_portrait",tier="low"' in third,
           "/metrics a second later shows the new selection", third.decode())


def test_curl(tap, h):
    for path, code, ctype in (("/health", "200", JSON), ("/api/v1/quality/ready", "200", JSON),
                              ("/api/v1/quality/version", "200", JSON), ("/metrics", "200", PROMETHEUS),
                              ("/api/v1/quality/tiers/nope", "404", JSON)):
        p = h.curl("-o", "/dev/null", "-w", "%{http_code} %{content_type}", h.url(path))
        tap.ok(p.stdout.decode() == f"{code} {ctype}", f"curl {path}: {code} {ctype}", p.stdout + p.stderr)

    p = h.curl("--head", h.url("/health"))
    head = p.stdout.decode()
    tap.ok(head.startswith("HTTP/1.1 200") and "content-length:" in head.lower(), "curl --head /health",
           head)

    # curl reuses the connection for the second URL when the server keeps it alive.
    p = h.curl("-v", "-o", "/dev/null", "-o", "/dev/null", h.url("/health"),
               h.url("/api/v1/quality/version"))
    tap.ok(b"Re-using existing connection" in p.stderr and p.stderr.count(b"< HTTP/1.1 200") == 2,
           "curl keeps one connection alive for two requests", p.stderr.decode(errors="replace"))

    p = h.curl("-X", "POST", "-d", "x=1", "-o", "/dev/null", "-w", "%{http_code}", h.url("/health"))
    tap.ok(p.stdout == b"405", "curl POST with a body is 405", p.stdout)
    p = h.curl("-i", "-X", "DELETE", h.url("/health"))
    tap.ok(p.stdout.startswith(b"HTTP/1.1 405") and b"Allow: GET, HEAD\r\n" in p.stdout,
           "curl DELETE is 405 with Allow: GET, HEAD", p.stdout)


def test_connections(tap, h):
    c = Client(h.port)
    get = c.request("/health")
    head = c.request("/health", method="HEAD")
    tap.ok(head.status == 200 and head.headers.get("content-length") == get.headers.get("content-length") and
           head.headers.get("content-type") == get.headers.get("content-type"),
           "HEAD has the headers of GET", (get.headers, head.headers))
    after = c.request("/api/v1/quality/version")
    tap.ok(head.body == b"" and after.status == 200 and c.buffer == b"",
           "HEAD sends no body: the next response follows at once on the same connection")
    for path in ("/api/v1/quality/tiers/character_portrait", "/metrics", "/api/v1/quality/ready"):
        c.request(path, method="HEAD")
    tap.ok(c.request("/health").status == 200,
           "HEAD of cached and forwarded resources keeps the connection in step")
    c.close()

    c = Client(h.port)
    statuses = [c.request(p).status for p in ("/health", "/nope", "/api/v1/quality/ready", "/metrics")]
    tap.ok(statuses == [200, 404, 200, 200], "keep-alive: four requests on one connection", statuses)
    c.close()

    # Pipelined: all requests in one write, answers in order, the slow ones (calls to the daemon) included.
    paths = ["/health", "/api/v1/quality/tiers/scene_generation", "/api/v1/quality/version", "/metrics",
             "/api/v1/quality/render/character_portrait/low", "/nope", "/api/v1/quality/tiers/nope",
             "/health"]
    c = Client(h.port)
    c.send(b"".join(request_bytes(p) for p in paths) + request_bytes("/health", "HEAD"))
    responses = [c.read_response() for _ in paths] + [c.read_response(head=True)]
    statuses = [r.status for r in responses]
    tap.ok(statuses == [200, 200, 200, 200, 200, 404, 404, 200, 200], "pipelined requests are all answered",
           statuses)
    tap.ok(b'"scene_generation"' in responses[1].body and b"quality-tier-system" in responses[2].body and
           responses[3].body.startswith(b"# HELP") and b'"prompt"' in responses[4].body,
           "pipelined answers come in request order")
    c.close()

    c = Client(h.port)
    r = c.request("/health", headers={"Host": "x", "Connection": "close"})
    tap.ok(r.status == 200 and r.headers.get("connection") == "close" and c.closed(),
           "Connection: close is answered and the connection closed")
    c.close()

    c = Client(h.port)
    r = c.request("/health", version="HTTP/1.0")
    tap.ok(r.status == 200 and r.headers.get("connection") == "close" and c.closed(),
           "HTTP/1.0 without keep-alive: Connection: close, and closed")
    c.close()

    c = Client(h.port)
    first = c.request("/health", version="HTTP/1.0", headers={"Connection": "keep-alive"})
    second = c.request("/api/v1/quality/ready", version="HTTP/1.0", headers={"Connection": "keep-alive"})
    tap.ok(first.headers.get("connection") == "keep-alive" and second.status == 200,
           "HTTP/1.0 with Connection: keep-alive stays open")
    c.close()

    r = h.get("/health")
    tap.ok(r.headers.get("date", "").endswith(" GMT") and r.headers.get("server") == "auteur-quality-httpd",
           "responses carry Date and Server", r.headers)


def test_reload(tap, h):
    before = h.get("/api/v1/quality/tiers/scene_generation")
    p = h.deploy(DEPLOYED)
    tap.ok(p.returncode == 0 and p.stdout.strip() == "t 2", "a configuration is deployed as generation 2",
           p.stdout + p.stderr)
    ok = wait_for(lambda: h.get("/api/v1/quality/version").json().get("config_version") == 2, 5, None)
    tap.ok(ok, "/version follows the Reloaded signal to generation 2")
    after = h.get("/api/v1/quality/tiers/scene_generation")
    tap.ok(before.status == 200 and after.status == 404, "the /tiers cache is voided by a new generation",
           (before.status, after.status))
    tiers = h.get("/api/v1/quality/tiers/character_portrait").json()
    tap.ok(set(tiers.get("available_tiers", {})) == {"low"}, "/tiers shows the new generation's tiers",
           tiers)
    check(tap, h, "/api/v1/quality/render/character_portrait/high", 409)
    check(tap, h, "/api/v1/quality/render/character_portrait/standard", 404)
    check(tap, h, "/api/v1/quality/render/character_portrait/low", 200)
    tap.ok(h.get("/api/v1/quality/health").json().get("environment") == "test",
           "/health follows the new environment")


def test_unreachable(tap, h):
    h.stop_daemon()
    ok = wait_for(lambda: h.get("/health").status == 503, 5, None)
    tap.ok(ok, "/health is 503 once the daemon has left the bus")
    r = check(tap, h, "/health", 503)
    tap.ok(r.json().get("status") == "unreachable", "the 503 body says unreachable", r)
    check(tap, h, "/api/v1/quality/health", 503)
    check(tap, h, "/api/v1/quality/ready", 503)
    check(tap, h, "/api/v1/quality/version", 503)
    check(tap, h, "/metrics", 503)
    check(tap, h, "/api/v1/quality/tiers/character_portrait", 503)
    check(tap, h, "/api/v1/quality/render/character_portrait/low", 503)

    h.start_daemon()
    ok = wait_for(lambda: h.get("/health").status == 200, 10, None)
    tap.ok(ok, "/health is 200 again once the daemon is back")
    check(tap, h, "/api/v1/quality/ready", 200)

    # A shim that starts while the daemon is away answers 503 at once, then 200 when it comes.
    status, clean = h.stop_shim()
    tap.ok(status == 0 and clean, "the shim exits cleanly on SIGTERM",
           h.shim_output().decode(errors="replace"))
    h.stop_daemon()
    h.start_shim()
    start = time.monotonic()
    r = h.get("/health")
    tap.ok(r.status == 503 and time.monotonic() - start < 3,
           "a shim started without the daemon answers /health 503 at once", r)
    h.start_daemon()
    ok = wait_for(lambda: h.get("/health").status == 200, 10, None)
    tap.ok(ok, "and 200 once the daemon comes")


def test_hung_daemon(tap, h):
    # A daemon that does not answer holds up only the requests that call it; cached answers keep coming.
    h.stop_shim()
    h.start_shim("--bus-timeout", "1")
    h.get("/health")
    h.daemon.send_signal(signal.SIGSTOP)
    try:
        waiting = Client(h.port)
        waiting.send(request_bytes("/api/v1/quality/render/character_portrait/low"))
        time.sleep(0.2)
        start = time.monotonic()
        r = h.get("/health")
        tap.ok(r.status == 200 and time.monotonic() - start < 0.5,
               "while a call to a stopped daemon is pending, /health answers at once from the cache")
        start = time.monotonic()
        r = waiting.read_response()
        elapsed = time.monotonic() - start
        tap.ok(r.status == 503 and elapsed < 2.5, f"the pending call is answered 503 at --bus-timeout 1 "
                                                  f"({elapsed + 0.2:.1f} s after the request)", r)
        waiting.close()
    finally:
        h.daemon.send_signal(signal.SIGCONT)
    ok = wait_for(lambda: h.get("/api/v1/quality/render/character_portrait/low").status == 200, 10, None)
    tap.ok(ok, "once the daemon runs again, calls succeed")


def test_listen(tap, h):
    # --listen by hand, IPv4 and IPv6 literals, both at once.
    port4, port6 = httpd_harness.free_port(), httpd_harness.free_port()
    ipv6 = socket.has_ipv6
    if ipv6:
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            ipv6 = False
    args = [h.shim, "--log-target", "console", "--listen", f"127.0.0.1:{port4}"]
    if ipv6:
        args += ["--listen", f"[::1]:{port6}"]
    p = subprocess.Popen(args, env=h.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: httpd_harness.listening(port4), 10, "--listen 127.0.0.1")
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                            f"http://127.0.0.1:{port4}/health"], capture_output=True)
        tap.ok(r.stdout == b"200", "--listen 127.0.0.1:PORT serves /health", r.stdout)
        if ipv6:
            r = subprocess.run(["curl", "-s", "-g", "-o", "/dev/null", "-w", "%{http_code}",
                                f"http://[::1]:{port6}/health"], capture_output=True)
            tap.ok(r.stdout == b"200", "--listen [::1]:PORT serves /health", r.stdout)
        else:
            tap.skip("--listen [::1]:PORT serves /health", "no IPv6 loopback here")
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    tap.ok(p.returncode == 0 and not any(m in err for m in httpd_harness.SANITIZER_MARKERS),
           "the shim run by hand exits 0 on SIGTERM", err.decode(errors="replace")[-2000:])
    for bad in ("127.0.0.1", "localhost:80", "[::1]80", "1.2.3.4:0", "1.2.3.4:65536"):
        r = subprocess.run([h.shim, "--listen", bad], env=h.env, capture_output=True)
        tap.ok(r.returncode == 2 and b"Invalid listen address" in r.stderr, f"--listen {bad} is refused",
               r.stderr)
    r = subprocess.run([h.shim], env=h.env, capture_output=True)
    tap.ok(r.returncode != 0 and b"No listening socket" in r.stderr,
           "without sockets from systemd and without --listen, the shim says what to do", r.stderr)


def run(h, tap):
    h.start_bus()
    h.start_daemon()
    h.start_shim()
    test_endpoints(tap, h)
    test_metrics_cache(tap, h)
    test_curl(tap, h)
    test_connections(tap, h)
    test_reload(tap, h)
    test_unreachable(tap, h)
    test_hung_daemon(tap, h)
    test_listen(tap, h)
    status, clean = h.stop_shim()
    tap.ok(status == 0 and clean, "the shim exits 0 on SIGTERM without sanitizer reports",
           h.shim_output().decode(errors="replace")[-3000:])


if __name__ == "__main__":
    httpd_harness.main(run)
