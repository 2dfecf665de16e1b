#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""auteur-quality-httpd against hostile clients, over raw sockets: malformed and oversized requests,
bodies, unknown methods, slow and idle clients, a client that never reads, a flood of connections, and
exit when idle. After each, a normal request still gets 200."""

import socket
import time

import httpd_harness
from httpd_harness import Client, request_bytes, wait_for

HEADER_TIMEOUT = 2
IDLE_TIMEOUT = 3
MAX_CONNECTIONS = 100
FLOOD = 1000

GOOD = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"

# name, bytes sent, status expected, whether the server then closes the connection
TABLE = [
    ("garbage", b"garbage\r\n\r\n", 400, True),
    ("a TLS handshake", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)), 400, True),
    ("a bare newline", b"\n", 400, True),
    ("a request line ended by a bare newline", b"GET /health HTTP/1.1\nHost: x\n\n", 400, True),
    ("a missing version", b"GET /health\r\n\r\n", 400, True),
    ("a missing target", b"GET HTTP/1.1\r\n\r\n", 400, True),
    ("a bad version", b"GET /health HTTP/1.x\r\nHost: x\r\n\r\n", 400, True),
    ("HTTP/2.0", b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505, True),
    ("HTTP/0.9", b"GET /health HTTP/0.9\r\n\r\n", 505, True),
    ("a 10 KiB URI", b"GET /" + b"u" * 10240 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, True),
    ("a 64 KiB header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 65536 + b"\r\n\r\n", 431,
     True),
    ("101 header fields", b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X: 1\r\n" * 101 + b"\r\n", 431, True),
    ("a body (Content-Length)", b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413,
     True),
    ("a body (Transfer-Encoding)",
     b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 413,
     True),
    ("a 1 MiB body", b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" + b"b" * 65536,
     413, True),
    ("Content-Length and Transfer-Encoding",
     b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     True),
    ("a bad Content-Length", b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, True),
    ("no Host", b"GET /health HTTP/1.1\r\n\r\n", 400, True),
    ("two Hosts", b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, True),
    ("obsolete line folding", b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400, True),
    ("a space before the colon", b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n", 400, True),
    ("a NUL in a header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, True),
    ("a method of 32 letters", b"A" * 32 + b" /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, True),
    ("GET of the asterisk", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, True),
    ("POST", b"POST /health HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("POST with a body", b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", 405, True),
    ("PUT", b"PUT /health HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("DELETE", b"DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("PATCH", b"PATCH /health HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("TRACE", b"TRACE /health HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("CONNECT", b"CONNECT localhost:80 HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("BREW", b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("lower-case get", b"get /health HTTP/1.1\r\nHost: x\r\n\r\n", 405, False),
    ("absolute form", b"GET http://localhost/health HTTP/1.1\r\nHost: x\r\n\r\n", 200, False),
]


def status_of(data):
    try:
        return int(data.split(b"\r\n", 1)[0].split(b" ")[1])
    except (IndexError, ValueError):
        return None


def test_table(tap, h):
    for name, data, status, closes in TABLE:
        got, closed = h.exchange(data, timeout=1.0 if not closes else 5.0)
        ok = status_of(got) == status and closed == closes
        if status == 405:
            ok = ok and b"\r\nAllow: GET, HEAD\r\n" in got
        tap.ok(ok, f"{name}: {status}{', closed' if closes else ', kept open'}"
               f"{' with Allow' if status == 405 else ''}", (got[:300], closed))
    tap.ok(h.get("/health").status == 200, "after the table, a normal request gets 200")

    # The connection stays usable after a 405.
    c = Client(h.port)
    first = c.request("/health", method="POST")
    second = c.request("/health")
    tap.ok(first.status == 405 and second.status == 200, "a 405 keeps the connection for the next request")
    c.close()


def test_slow_clients(tap, h):
    # One byte a second: the header deadline cuts the client off, with a 408 if the socket takes it.
    s = socket.create_connection(("127.0.0.1", h.port))
    s.settimeout(1.0)
    start = time.monotonic()
    got = b""
    cut_off = False
    for byte in GOOD:
        try:
            s.send(bytes([byte]))
            chunk = s.recv(4096)  # waits the second between bytes
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            cut_off = True
            break
        if not chunk:
            cut_off = True
            break
        got += chunk
    elapsed = time.monotonic() - start
    s.close()
    tap.ok(cut_off and HEADER_TIMEOUT - 0.5 <= elapsed <= HEADER_TIMEOUT + 2,
           f"a client sending a byte a second is cut off by the {HEADER_TIMEOUT} s header deadline "
           f"({elapsed:.1f} s)", (got, cut_off))
    tap.ok(status_of(got) == 408, "it is told 408 Request Timeout", got)

    # A connection that sends nothing at all.
    c = Client(h.port)
    start = time.monotonic()
    closed = c.closed(HEADER_TIMEOUT + 3)
    elapsed = time.monotonic() - start
    tap.ok(closed and elapsed <= HEADER_TIMEOUT + 2, f"a silent connection is closed after {elapsed:.1f} s")
    c.close()

    # Idle keep-alive.
    c = Client(h.port)
    c.request("/health")
    start = time.monotonic()
    closed = c.closed(IDLE_TIMEOUT + 3)
    elapsed = time.monotonic() - start
    tap.ok(closed and IDLE_TIMEOUT - 0.5 <= elapsed <= IDLE_TIMEOUT + 2,
           f"an idle keep-alive connection is closed after the {IDLE_TIMEOUT} s idle timeout "
           f"({elapsed:.1f} s)")
    c.close()
    tap.ok(h.get("/health").status == 200, "after slow clients, a normal request gets 200")


def test_never_reads(tap, h):
    # Pipelines requests without ever reading: once its unsent answers pass the output limit, it is cut off.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", h.port))
    s.settimeout(2.0)
    batch = b"".join(request_bytes(p) for p in ("/health", "/api/v1/quality/version", "/metrics")) * 50
    start = time.monotonic()
    cut_off = False
    sent = 0
    while time.monotonic() - start < 30:
        try:
            sent += s.send(batch)
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            cut_off = True
            break
    s.close()
    tap.ok(cut_off, f"a client that never reads is cut off (after {sent} bytes of requests, "
                    f"{time.monotonic() - start:.1f} s)")
    tap.ok(h.get("/health").status == 200, "after it, a normal request gets 200")


def test_flood(tap, h):
    base = h.shim_fds()
    socks = []
    for _ in range(FLOOD):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", h.port))
        except BlockingIOError:
            pass
        socks.append(s)
    time.sleep(1.0)
    held = h.shim_fds() - base
    tap.ok(0 < held <= MAX_CONNECTIONS, f"{FLOOD} connections at once: the shim holds at most "
                                        f"{MAX_CONNECTIONS} ({held})")
    for s in socks:
        s.close()
    ok = wait_for(lambda: h.get("/health", timeout=HEADER_TIMEOUT + 5).status == 200, 20, None)
    tap.ok(ok, "after the flood, a normal request gets 200")
    ok = wait_for(lambda: h.shim_fds() <= base + 1, HEADER_TIMEOUT + 5, None)
    tap.ok(ok, "and every flood connection is gone", h.shim_fds() - base)

    # At the bound, keep-alive connections that wait for a next request make room for new ones.
    idle = [Client(h.port) for _ in range(MAX_CONNECTIONS)]
    for c in idle:
        c.request("/health")
    start = time.monotonic()
    r = h.get("/health")
    tap.ok(r.status == 200 and time.monotonic() - start < 1.5,
           f"with {MAX_CONNECTIONS} idle keep-alive connections, a new one is served at once")
    tap.ok(idle[0].closed(2.0), "by closing the longest idle one")
    for c in idle:
        c.close()


def test_exit_idle(tap, h):
    h.stop_shim()
    h.start_shim("--exit-idle-time", "1")
    h.get("/health")
    process = h.shim_process
    exited = wait_for(lambda: process.poll() is not None, 5, None)
    tap.ok(exited and process.returncode == 0 and h.shim_clean(),
           "with --exit-idle-time 1 the shim exits 0 a second after its last connection",
           h.shim_output().decode(errors="replace")[-2000:])


def run(h, tap):
    h.start_bus()
    h.start_daemon()
    h.start_shim("--header-timeout", str(HEADER_TIMEOUT), "--idle-timeout", str(IDLE_TIMEOUT),
                 "--max-connections", str(MAX_CONNECTIONS))
    test_table(tap, h)
    test_slow_clients(tap, h)
    test_never_reads(tap, h)
    test_flood(tap, h)
    tap.ok(h.shim_process.poll() is None and h.shim_clean(), "the shim survived, without sanitizer reports",
           h.shim_output().decode(errors="replace")[-3000:])
    test_exit_idle(tap, h)


if __name__ == "__main__":
    httpd_harness.main(run)
