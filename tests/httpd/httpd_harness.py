# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the HTTP shim's tests share: TAP output, a private system bus with auteur-qualityd on it, the
shim under systemd-socket-activate, and HTTP spoken over raw sockets."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# Environment variables the shim must see; systemd-socket-activate passes on only what -E names.
PASSED_VARIABLES = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MALLOC_PERTURB_", "QUALITY_LOG_LEVEL")
SANITIZER_MARKERS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error:")


class Tap:
    """One "ok"/"not ok" line per check; the plan comes last."""

    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, condition, name, diagnostic=None):
        self.count += 1
        print(f"{'ok' if condition else 'not ok'} {self.count} - {name}", flush=True)
        if not condition:
            self.failed += 1
            if diagnostic is not None:
                for line in str(diagnostic).splitlines()[:40]:
                    print(f"#   {line}", flush=True)
        return bool(condition)

    def skip(self, name, reason):
        self.count += 1
        print(f"ok {self.count} - {name} # SKIP {reason}", flush=True)

    def diag(self, text):
        for line in str(text).splitlines():
            print(f"# {line}", flush=True)

    def done(self):
        print(f"1..{self.count}", flush=True)
        return 1 if self.failed else 0


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.headers = headers  # lower-case names
        self.body = body
        self.raw_head = raw_head

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.reason} {self.headers} {self.body[:200]!r}>"


class Client:
    """One connection, with a read buffer, so that responses can be read one at a time."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buffer += chunk

    def read_response(self, head=False):
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        raw_head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = raw_head.decode("latin-1").split("\r\n")
        version, status, reason = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = 0 if head else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Response(int(status), reason, headers, body, raw_head)

    def request(self, path, method="GET", version="HTTP/1.1", headers=None):
        self.send(request_bytes(path, method, version, headers))
        return self.read_response(head=(method == "HEAD"))

    def closed(self, timeout=5.0):
        """Whether the server closes the connection (after what is buffered) within timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.sock.close()


def request_bytes(path, method="GET", version="HTTP/1.1", headers=None):
    lines = [f"{method} {path} {version}"]
    if headers is None:
        headers = {"Host": "localhost"} if version == "HTTP/1.1" else {}
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Harness:
    def __init__(self, shim, qualityd, srcdir, tap):
        self.shim = shim
        self.qualityd = qualityd
        self.srcdir = srcdir
        self.tap = tap
        self.dir = tempfile.mkdtemp(prefix="test-httpd.")
        self.bus_socket = os.path.join(self.dir, "bus")
        self.bus_address = f"unix:path={self.bus_socket}"
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_address)
        self.bus = None
        self.daemon = None
        self.shim_process = None
        self.shim_log = None
        self.port = None
        self.config = os.path.join(self.dir, "quality_mappings.yaml")
        self.workflows = os.path.join(self.dir, "workflows")
        shutil.copytree(os.path.join(srcdir, "etc", "workflows"), self.workflows)
        shutil.copy(os.path.join(srcdir, "etc", "environments", "production.yaml"), self.config)
        os.mkdir(os.path.join(self.dir, "state"))

    # ---- the private bus and the daemon ----

    def start_bus(self):
        with open(os.path.join(self.srcdir, "tests", "integration", "system-bus.conf.in")) as f:
            conf = f.read()
        import pwd
        conf = (conf.replace("@SOCKET@", self.bus_socket)
                .replace("@DAEMON_USER@", pwd.getpwuid(os.getuid()).pw_name)
                .replace("@POLICY@", os.path.join(self.srcdir, "dbus", "org.auteur.QualityTier.conf")))
        path = os.path.join(self.dir, "bus.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.bus = subprocess.Popen(["dbus-daemon", f"--config-file={path}", "--nofork", "--nosyslog"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.bus_socket), 10, "the private bus socket")

    def name_has_owner(self):
        r = subprocess.run(["busctl", "--system", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "NameHasOwner", "s", "org.auteur.QualityTier"],
                           env=self.env, capture_output=True, text=True)
        return r.stdout.strip() == "b true"

    def start_daemon(self, check_interval=1):
        self.daemon_log = open(os.path.join(self.dir, "daemon.log"), "ab")
        command = [self.qualityd, "--config", self.config, "--workflows-root", self.workflows,
                   "--state-dir", os.path.join(self.dir, "state"), "--check-interval", str(check_interval),
                   "--log-target", "console"]
        self.daemon = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL,
                                       stderr=self.daemon_log)
        wait_for(self.name_has_owner, 30, "auteur-qualityd to own its name")

    def stop_daemon(self):
        if self.daemon:
            self.daemon.send_signal(signal.SIGTERM)
            self.daemon.wait(30)
            self.daemon = None
            self.daemon_log.close()

    def busctl(self, *args):
        return subprocess.run(["busctl", "--system", "--timeout=60", *args], env=self.env,
                              capture_output=True, text=True)

    def deploy(self, text):
        return self.busctl("call", "org.auteur.QualityTier", "/org/auteur/QualityTier",
                           "org.auteur.QualityTier", "Deploy", "ss", text, "test")

    # ---- the shim ----

    def start_shim(self, *args):
        """Starts the shim under systemd-socket-activate on a free port; returns the port."""
        for _ in range(5):
            port = free_port()
            command = ["systemd-socket-activate", "-l", f"127.0.0.1:{port}",
                       "-E", f"DBUS_SYSTEM_BUS_ADDRESS={self.bus_address}"]
            for name in PASSED_VARIABLES:
                if name in os.environ:
                    command += ["-E", f"{name}={os.environ[name]}"]
            command += [self.shim, "--log-target", "console", *args]
            self.shim_log = open(os.path.join(self.dir, f"shim-{port}.log"), "w+b")
            self.shim_process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.shim_log)
            if wait_for(lambda: listening(port) or self.shim_process.poll() is not None, 10, None) and \
                    self.shim_process.poll() is None:
                self.port = port
                return port
            self.shim_process.wait()
        raise RuntimeError("systemd-socket-activate did not start")

    def stop_shim(self):
        """Stops the shim with SIGTERM. Returns its exit status, and whether its log is free of sanitizer
        reports."""
        if not self.shim_process:
            return None, True
        if self.shim_process.poll() is None:
            self.shim_process.send_signal(signal.SIGTERM)
        try:
            status = self.shim_process.wait(30)
        except subprocess.TimeoutExpired:
            self.shim_process.kill()
            status = self.shim_process.wait()
        self.shim_process = None
        return status, self.shim_clean()

    def shim_output(self):
        self.shim_log.flush()
        self.shim_log.seek(0)
        return self.shim_log.read()

    def shim_clean(self):
        out = self.shim_output()
        return not any(marker in out for marker in SANITIZER_MARKERS)

    def shim_fds(self):
        """How many file descriptors the shim holds open."""
        return len(os.listdir(f"/proc/{self.shim_process.pid}/fd"))

    # ---- HTTP ----

    def get(self, path, method="GET", headers=None, version="HTTP/1.1", timeout=10.0):
        c = Client(self.port, timeout)
        try:
            return c.request(path, method, version, headers)
        finally:
            c.close()

    def client(self, timeout=10.0):
        return Client(self.port, timeout)

    def exchange(self, data, timeout=5.0):
        """Sends raw bytes, half-closes nothing, and reads until the server closes or timeout passes.
        Returns (bytes read, whether the server closed)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        got = b""
        closed = False
        try:
            try:
                s.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                s.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                except ConnectionResetError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                got += chunk
        finally:
            s.close()
        return got, closed

    def curl(self, *args):
        return subprocess.run(["curl", "--silent", "--show-error", "--max-time", "10", *args],
                              capture_output=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    # ---- teardown ----

    def close(self):
        for p in (self.shim_process, self.daemon, self.bus):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if os.environ.get("TEST_HTTPD_KEEP"):
            print(f"# kept {self.dir}", flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_for(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    if what:
        raise RuntimeError(f"timed out waiting for {what}")
    return False


def main(run):
    """Runs run(harness, tap) with the command line's SHIM QUALITYD SOURCE_ROOT; exits with TAP's verdict."""
    if len(sys.argv) != 4:
        print(f"Usage: {sys.argv[0]} SHIM QUALITYD SOURCE_ROOT", file=sys.stderr)
        sys.exit(2)
    tap = Tap()
    h = Harness(sys.argv[1], sys.argv[2], sys.argv[3], tap)
    try:
        run(h, tap)
    except Exception as e:  # a broken harness is a failed test, not a crash without a plan
        import traceback
        tap.ok(False, f"the test ran to its end ({type(e).__name__}: {e})", traceback.format_exc())
        if h.shim_log:
            tap.diag(h.shim_output().decode(errors="replace")[-3000:])
    finally:
        h.close()
    sys.exit(tap.done())
