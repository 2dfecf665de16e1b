# SPDX-License-Identifier: LGPL-2.1-or-later
"""The harness of the daemon's integration test (test-daemon.py): a private dbus-daemon with a monitor,
busctl calls correlated with the monitor's copy of their replies, an sd_notify receiver, daemons in their
own temporary directories, the console log lines of structured events, TAP output, and a minimal D-Bus
wire client for the one call busctl cannot make.

Every call goes through the real busctl. One "busctl monitor" on the private bus records every message,
so that the test sees D-Bus error names (busctl prints only the message), signals, and when each reply
was sent. Python standard library only.
"""

import atexit
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

BUS_NAME = "org.auteur.QualityTier"
BUS_PATH = "/org/auteur/QualityTier"
BUS_IFACE = "org.auteur.QualityTier"
ERR = "org.auteur.QualityTier.Error."
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"

NOBODY = 65534
TEST_ADMIN_GROUP = "auteur-quality-test-admin"
WATCHDOG_USEC = 2000000
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")

# Every metric of SPEC section 4.
METRICS = ("quality_config_last_modified", "quality_config_valid", "quality_config_generation",
           "quality_workflow_missing_total", "quality_tier_selection_total", "quality_reload_total",
           "quality_mappings", "quality_health_status")

TASKS = ("character_portrait", "scene_generation")
TIERS = ("low", "standard", "high")

# Parameters of the generated test configuration: values that differ from what the sample workflows
# hold, so that Render shows that they were written. cfg_scale 7 is an integer literal the daemon must
# still serve as a double; clip_skip is an unknown key (a warning) that keeps its type.
TIER_PARAMETERS = {
    "low": [("steps", "21"), ("cfg_scale", "7"), ("sampler_name", "euler_ancestral"),
            ("scheduler", "exponential"), ("width", "640"), ("height", "960"), ("clip_skip", "2")],
    "standard": [("steps", "33"), ("cfg_scale", "6.5"), ("sampler_name", "dpmpp_2m"),
                 ("scheduler", "karras"), ("width", "832"), ("height", "1216"), ("batch_size", "2")],
    "high": [("steps", "61"), ("cfg_scale", "8.5"), ("sampler_name", "dpmpp_3m_sde"),
             ("scheduler", "sgm_uniform"), ("width", "1000"), ("height", "1504"), ("seed", "12345"),
             ("denoise", "0.75")],
}
PARAMETER_TYPES = {"steps": "x", "cfg_scale": "d", "sampler_name": "s", "scheduler": "s", "width": "x",
                   "height": "x", "clip_skip": "x", "batch_size": "x", "seed": "x", "denoise": "d"}


def workflow_path(task, tier):
    return "library/image_generation/%s/%s_v1" % (task, tier)


def make_config(environment="itest", disabled=(), omit=(), steps_bump=0, comment=None, workflow_paths=None,
                root_path=None):
    """An environment-shape configuration over the sample workflows. disabled: tiers with enabled: false;
    omit: (task, tier) pairs left unmapped; steps_bump: added to every steps value; comment: a first line
    that makes the text (and its sha256) distinct without changing what it means."""
    lines = []
    if comment:
        lines.append("# %s" % comment)
    lines += ["environment: %s" % environment, "", "quality_system:", "  enabled: true", "  tiers:"]
    for tier in TIERS:
        lines.append('    - {name: %s, description: "Tier %s", enabled: %s}'
                     % (tier, tier, "false" if tier in disabled else "true"))
    lines += ["", "workflows:"]
    if root_path:
        lines.append("  root_path: %s" % root_path)
    lines.append("  mappings:")
    for task in TASKS:
        lines.append("    %s:" % task)
        for tier in TIERS:
            if (task, tier) in omit:
                continue
            path = (workflow_paths or {}).get((task, tier), workflow_path(task, tier))
            lines += ["      %s:" % tier,
                      "        workflow_path: %s" % path,
                      '        description: "%s at tier %s"' % (task, tier),
                      "        parameters:"]
            for key, value in TIER_PARAMETERS[tier]:
                if key == "steps":
                    value = str(int(value) + steps_bump)
                lines.append("          %s: %s" % (key, value))
    lines += ["", "monitoring:", "  health_check_enabled: true", "  metrics_collection: true",
              "  alerting: {enabled: true, thresholds: {workflow_missing: critical, config_invalid: critical}}",
              ""]
    return "\n".join(lines)


def expected_parameters(tier, steps_bump=0):
    out = {}
    for key, value in TIER_PARAMETERS[tier]:
        t = PARAMETER_TYPES[key]
        if t == "x":
            v = int(value) + (steps_bump if key == "steps" else 0)
        elif t == "d":
            v = float(value)
        else:
            v = value
        out[key] = (t, v)
    return out


def sha256(text):
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def position_of(text, needle, nth=0):
    """1-based (line, column) of the nth occurrence of needle in text."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


# ---------------------------------------------------------------------------------------------------
# TAP


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(condition, message, *details):
    if not condition:
        raise Failure(message + "".join("\n" + str(d) for d in details))


def check_eq(got, expected, what):
    if got != expected:
        raise Failure("%s: expected %r, got %r" % (what, expected, got))


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = []
        self.diagnostics = []

    def _emit(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def diag(self, text):
        for line in str(text).splitlines() or [""]:
            self._emit("# " + line)

    def result(self, ok, name, detail=None, directive=None):
        self.count += 1
        line = "%s %d - %s" % ("ok" if ok else "not ok", self.count, name)
        if directive:
            line += " # " + directive
        self._emit(line)
        if detail:
            self.diag(detail)
        if not ok:
            self.failed.append(name)

    def case(self, name):
        return _Case(self, name)

    def finish(self):
        self._emit("1..%d" % self.count)
        if self.failed:
            self.diag("%d of %d checks failed:" % (len(self.failed), self.count))
            for name in self.failed:
                self.diag("  " + name)
        return 1 if self.failed else 0


class _Case:
    def __init__(self, tap, name):
        self.tap = tap
        self.name = name

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.tap.result(True, self.name)
        elif issubclass(kind, Skip):
            self.tap.result(True, self.name, directive="SKIP " + str(value))
        elif issubclass(kind, Failure):
            self.tap.result(False, self.name, str(value))
        elif issubclass(kind, Exception):
            self.tap.result(False, self.name, "".join(traceback.format_exception(kind, value, tb)))
        else:
            return False
        return True


TAP = Tap()


# ---------------------------------------------------------------------------------------------------
# Process bookkeeping: everything started is stopped by its PID, also when the driver dies early.

_started = []  # Popen objects


def _cleanup_processes():
    for p in reversed(_started):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGKILL)
                p.wait(5)
            except Exception:
                pass


atexit.register(_cleanup_processes)


def _on_signal(signum, frame):
    _cleanup_processes()
    sys.exit(1)


def spawn(argv, **kwargs):
    p = subprocess.Popen(argv, **kwargs)
    _started.append(p)
    return p


# ---------------------------------------------------------------------------------------------------
# A minimal D-Bus wire client (marshalling and SASL EXTERNAL), for the one call busctl cannot make: a
# 20 MiB argument is beyond the kernel's limit for one command-line argument (128 KiB).

_ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8, "h": 4, "s": 4, "o": 4,
          "g": 1, "v": 1, "a": 4, "(": 8, "{": 8}
_FIXED = {"y": "B", "b": "I", "n": "h", "q": "H", "i": "i", "u": "I", "x": "q", "t": "Q", "d": "d", "h": "I"}


def _type_end(sig, i):
    c = sig[i]
    if c == "a":
        return _type_end(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        i += 1
        while sig[i] != close:
            i = _type_end(sig, i)
        return i + 1
    return i + 1


def _split(sig):
    out, i = [], 0
    while i < len(sig):
        j = _type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _pad(buf, n):
    buf += b"\0" * ((-len(buf)) % n)


def _put(buf, t, v):
    c = t[0]
    _pad(buf, _ALIGN[c])
    if c in _FIXED:
        buf += struct.pack("<" + _FIXED[c], v)
    elif c in "so":
        data = v.encode()
        buf += struct.pack("<I", len(data)) + data + b"\0"
    elif c == "g":
        data = v.encode()
        buf += bytes([len(data)]) + data + b"\0"
    elif c == "v":
        _put(buf, "g", v[0])
        _put(buf, v[0], v[1])
    elif c == "a":
        at = len(buf)
        buf += b"\0\0\0\0"
        _pad(buf, _ALIGN[t[1]])
        start = len(buf)
        for item in (v.items() if isinstance(v, dict) else v):
            _put(buf, t[1:], item)
        struct.pack_into("<I", buf, at, len(buf) - start)
    elif c in "({":
        for sub, val in zip(_split(t[1:-1]), v):
            _put(buf, sub, val)
    else:
        raise ValueError("cannot marshal " + t)


def _get(data, off, t, e):
    c = t[0]
    off += (-off) % _ALIGN[c]
    if c in _FIXED:
        fmt = e + _FIXED[c]
        v = struct.unpack_from(fmt, data, off)[0]
        if c == "b":
            v = bool(v)
        return v, off + struct.calcsize(fmt)
    if c in "so":
        n = struct.unpack_from(e + "I", data, off)[0]
        return data[off + 4:off + 4 + n].decode(), off + 5 + n
    if c == "g":
        n = data[off]
        return data[off + 1:off + 1 + n].decode(), off + 2 + n
    if c == "v":
        sig, off = _get(data, off, "g", e)
        v, off = _get(data, off, sig, e)
        return (sig, v), off
    if c == "a":
        n = struct.unpack_from(e + "I", data, off)[0]
        off += 4
        off += (-off) % _ALIGN[t[1]]
        end, items = off + n, []
        while off < end:
            v, off = _get(data, off, t[1:], e)
            items.append(v)
        return (dict(items) if t[1] == "{" else items), off
    if c in "({":
        out = []
        for sub in _split(t[1:-1]):
            v, off = _get(data, off, sub, e)
            out.append(v)
        return tuple(out), off
    raise ValueError("cannot unmarshal " + t)


class RawBus:
    """Just enough of a D-Bus client to send one method call and read its reply."""

    def __init__(self, socket_path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(socket_path)
        self.buffer = b""
        self.serial = 0
        self.sock.sendall(b"\0AUTH EXTERNAL " + str(os.geteuid()).encode().hex().encode() + b"\r\n")
        line = self._read_line()
        if not line.startswith(b"OK "):
            raise RuntimeError("authentication failed: %r" % line)
        self.sock.sendall(b"BEGIN\r\n")
        self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", "", [])

    def close(self):
        self.sock.close()

    def _read_line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("connection closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _read_exact(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buffer)))
            if not chunk:
                raise RuntimeError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _read_message(self):
        head = self._read_exact(16)
        e = "<" if head[0:1] == b"l" else ">"
        body_length, _, fields_length = struct.unpack_from(e + "III", head, 4)
        header_length = 16 + fields_length + ((-(16 + fields_length)) % 8)
        rest = self._read_exact(header_length - 16 + body_length)
        data = head + rest
        fields, _ = _get(data, 12, "a(yv)", e)
        fields = {code: value[1] for code, value in fields}
        body = []
        if fields.get(8):
            body = list(_get(data[header_length:], 0, "(" + fields[8] + ")", e)[0])
        return head[1], fields, body

    def call(self, destination, path, interface, member, signature, args):
        """Returns (error_name or None, body values)."""
        self.serial += 1
        body = bytearray()
        for t, v in zip(_split(signature), args):
            _put(body, t, v)
        fields = [(1, ("o", path)), (2, ("s", interface)), (3, ("s", member)), (6, ("s", destination))]
        if signature:
            fields.append((8, ("g", signature)))
        header = bytearray(b"l\x01\x00\x01")
        header += struct.pack("<II", len(body), self.serial)
        _put(header, "a(yv)", fields)
        _pad(header, 8)
        self.sock.sendall(bytes(header) + bytes(body))
        while True:
            kind, f, values = self._read_message()
            if kind in (2, 3) and f.get(5) == self.serial:
                return (f.get(4) if kind == 3 else None), values


# ---------------------------------------------------------------------------------------------------
# The private bus, its monitor and busctl.


class CallResult:
    def __init__(self, returncode, stdout, stderr, error_name, reply, returned_realtime):
        self.returncode = returncode
        self.stderr = stderr
        self.error = error_name          # D-Bus error name, None on success
        self.reply = reply               # the reply message as the monitor saw it
        self.returned_realtime = returned_realtime
        self.json = self.data = None
        if returncode == 0 and stdout.strip():
            self.json = json.loads(stdout)
            self.data = self.json["data"]

    @property
    def ok(self):
        return self.returncode == 0 and self.error is None

    @property
    def message(self):
        if self.reply and self.reply.get("type") == "error":
            data = self.reply.get("payload", {}).get("data") or [""]
            return data[0]
        return self.stderr

    def describe(self):
        return "rc=%s error=%s message=%r" % (self.returncode, self.error, self.message[:2000])


class Bus:
    def __init__(self, base, source_root):
        self.dir = os.path.join(base, "bus")
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "system_bus_socket")
        self.address = "unix:path=" + self.socket
        with open(os.path.join(source_root, "tests", "integration", "system-bus.conf.in")) as f:
            text = f.read()
        text = (text.replace("@SOCKET@", self.socket)
                .replace("@DAEMON_USER@", pwd.getpwuid(os.getuid()).pw_name)
                .replace("@POLICY@", os.path.join(source_root, "dbus", "org.auteur.QualityTier.conf")))
        self.config = os.path.join(self.dir, "system-bus.conf")
        with open(self.config, "w") as f:
            f.write(text)
        self.log = open(os.path.join(self.dir, "dbus-daemon.log"), "w")
        self.process = spawn(["dbus-daemon", "--config-file=" + self.config, "--nofork", "--nopidfile"],
                             stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dbus-daemon did not start; see " + self.log.name)
            time.sleep(0.02)
        os.chmod(self.socket, 0o777)
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.address)
        for k in ("DBUS_SESSION_BUS_ADDRESS", "SYSTEMD_PAGER", "SYSTEMD_COLORS"):
            self.env.pop(k, None)
        self.env["SYSTEMD_PAGER"] = "cat"
        self.env["SYSTEMD_COLORS"] = "0"

        self.messages = []
        self.cond = threading.Condition()
        self.monitor_err = open(os.path.join(self.dir, "monitor.err"), "w")
        self.monitor = spawn(["busctl", "--system", "--json=short", "monitor"], env=self.env,
                             stdout=subprocess.PIPE, stderr=self.monitor_err)
        threading.Thread(target=self._read_monitor, daemon=True).start()
        # The monitor is ready once it sees a call of ours.
        deadline = time.monotonic() + 10
        while True:
            mark = self.mark()
            self.busctl(["call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                         "GetId"])
            if self.wait(lambda m: m.get("member") == "GetId", mark, 0.5):
                break
            if self.monitor.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("busctl monitor does not work; see " + self.monitor_err.name)

    def _read_monitor(self):
        for line in self.monitor.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            m["_received"] = time.monotonic()
            with self.cond:
                self.messages.append(m)
                self.cond.notify_all()

    def stop(self):
        for p in (self.monitor, self.process):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)

    def mark(self):
        with self.cond:
            return len(self.messages)

    def since(self, mark):
        with self.cond:
            return list(self.messages[mark:])

    def wait(self, predicate, mark, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            i = mark
            while True:
                while i < len(self.messages):
                    if predicate(self.messages[i]):
                        return self.messages[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def signals(self, mark, member, interface=BUS_IFACE):
        return [m for m in self.since(mark)
                if m.get("type") == "signal" and m.get("member") == member and m.get("interface") == interface
                and m.get("path") == BUS_PATH]

    def properties_changed(self, mark, name=None):
        """(value dict) of every PropertiesChanged of our interface since mark, optionally with name."""
        out = []
        for m in self.signals(mark, "PropertiesChanged", "org.freedesktop.DBus.Properties"):
            data = m["payload"]["data"]
            if data[0] != BUS_IFACE:
                continue
            changed = {k: v["data"] for k, v in data[1].items()}
            if name is None or name in changed:
                out.append(changed)
        return out

    def wait_property_changed(self, mark, name, value, timeout):
        def pred(m):
            if m.get("type") != "signal" or m.get("member") != "PropertiesChanged":
                return False
            data = m["payload"]["data"]
            return data[0] == BUS_IFACE and name in data[1] and data[1][name]["data"] == value
        return self.wait(pred, mark, timeout)

    def busctl(self, args, user=None, groups=None, timeout=60, options=()):
        argv = ["busctl", "--system", "--json=short"] + list(options)
        if user is not None:
            argv = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user] + \
                   (["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]) + argv
        return subprocess.run(argv + ["--"] + args, env=self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)

    def _run_correlated(self, args, member, interface, user=None, groups=None, timeout=60, options=()):
        mark = self.mark()
        started = time.monotonic()
        p = self.busctl(args, user=user, groups=groups, timeout=timeout, options=options)
        returned = time.time()
        call = self.wait(lambda m: m.get("type") == "method_call" and m.get("member") == member
                         and m.get("interface") == interface and m.get("destination") == BUS_NAME, mark, 5)
        reply = None
        if call:
            # busctl exits after the reply; a call it gave up on has none coming.
            timed_out = p.returncode != 0 and "timed out" in p.stderr
            reply = self.wait(lambda m: m.get("type") in ("method_return", "error")
                              and m.get("destination") == call["sender"]
                              and m.get("reply_cookie") == call["cookie"], mark, 0.2 if timed_out else 5)
        error = None
        if reply and reply["type"] == "error":
            error = reply.get("error_name")
        elif p.returncode != 0:
            error = "(no reply seen: %s)" % p.stderr.strip()
        r = CallResult(p.returncode, p.stdout, p.stderr, error, reply, returned)
        r.started_monotonic = started
        r.returned_monotonic = time.monotonic()
        return r

    def call(self, member, signature="", *args, user=None, groups=None, timeout=60, options=()):
        argv = ["call", BUS_NAME, BUS_PATH, BUS_IFACE, member]
        if signature:
            argv += [signature] + [a if isinstance(a, str) else str(a) for a in args]
        return self._run_correlated(argv, member, BUS_IFACE, user, groups, timeout, options)

    def must(self, member, signature="", *args, **kwargs):
        r = self.call(member, signature, *args, **kwargs)
        check(r.ok, "%s() failed: %s" % (member, r.describe()))
        return r.data

    def get_property(self, name, user=None):
        r = self._run_correlated(["get-property", BUS_NAME, BUS_PATH, BUS_IFACE, name], "Get",
                                 "org.freedesktop.DBus.Properties", user=user)
        check(r.ok, "get-property %s failed: %s" % (name, r.describe()))
        return r.json

    def name_owner(self):
        p = self.busctl(["call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                         "GetNameOwner", "s", BUS_NAME])
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)["data"][0]


# ---------------------------------------------------------------------------------------------------
# sd_notify receiver


class NotifySocket:
    SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, self.SO_TIMESTAMP, 1)
        self.sock.settimeout(0.1)
        self.messages = []  # (kernel CLOCK_REALTIME seconds, CLOCK_MONOTONIC when read, text)
        self.cond = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        tv = struct.calcsize("@ll")
        while not self.stopped:
            try:
                data, ancdata, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(tv))
            except socket.timeout:
                continue
            except OSError:
                break
            stamp = time.time()
            for level, kind, cdata in ancdata:
                if level == socket.SOL_SOCKET and kind == self.SO_TIMESTAMP and len(cdata) >= tv:
                    sec, usec = struct.unpack("@ll", cdata[:tv])
                    stamp = sec + usec / 1e6
            with self.cond:
                self.messages.append((stamp, time.monotonic(), data.decode(errors="replace")))
                self.cond.notify_all()

    def close(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()

    def mark(self):
        with self.cond:
            return len(self.messages)

    def since(self, mark=0):
        with self.cond:
            return list(self.messages[mark:])

    def wait(self, predicate, mark=0, timeout=10):
        deadline = time.monotonic() + timeout
        with self.cond:
            i = mark
            while True:
                while i < len(self.messages):
                    if predicate(self.messages[i][2]):
                        return self.messages[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def check_notify_around_apply(daemon, nmark, result):
    """Since nmark: RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC during the call), then READY=1, both
    queued on the notify socket before the reply was sent (the monitor saw the reply no earlier than the
    daemon sent it)."""
    daemon.notify.wait(lambda t: "READY=1" in t.split("\n"), nmark, 2)
    msgs = [m for m in daemon.notify.since(nmark) if m[2].split("\n") != ["WATCHDOG=1"]]
    shown = [m[2] for m in msgs]
    check(len(msgs) >= 2, "expected RELOADING=1 and READY=1, got %r" % shown)
    # STATUS= updates may come in between (a health change during the apply); READY=1 ends it.
    ready = [i for i, m in enumerate(msgs) if "READY=1" in m[2].split("\n")]
    check(ready, "no READY=1: %r" % shown)
    msgs = [msgs[0], msgs[ready[0]]]
    first, second = notify_fields(msgs[0][2]), notify_fields(msgs[1][2])
    check(first.get("RELOADING") == "1", "first notification is not RELOADING=1: %r" % shown)
    check(re.match(r"^\d+$", first.get("MONOTONIC_USEC", "")), "no MONOTONIC_USEC= with RELOADING=1: %r" % shown)
    mono = int(first["MONOTONIC_USEC"]) / 1e6
    check(result.started_monotonic - 0.01 <= mono <= result.returned_monotonic,
          "MONOTONIC_USEC=%s is not CLOCK_MONOTONIC during the call (%.6f..%.6f)"
          % (first["MONOTONIC_USEC"], result.started_monotonic, result.returned_monotonic))
    check(second.get("READY") == "1", "the notification after RELOADING=1 is not READY=1: %r" % shown)
    check(second.get("STATUS"), "READY=1 without STATUS=: %r" % shown)
    reply_at = result.reply["timestamp-realtime"] / 1e6 if result.reply and "timestamp-realtime" in result.reply \
        else result.returned_realtime
    check(msgs[0][0] <= reply_at and msgs[1][0] <= reply_at,
          "notifications queued after the reply: %.6f, %.6f > %.6f" % (msgs[0][0], msgs[1][0], reply_at))
    check(msgs[1][0] <= result.returned_realtime, "READY=1 after busctl returned")


def check_no_notify(daemon, nmark):
    """An apply of identical content sends no notification at all (watchdog pings aside)."""
    time.sleep(0.3)
    msgs = [m[2] for m in daemon.notify.since(nmark) if m[2].split("\n") != ["WATCHDOG=1"]]
    check_eq(msgs, [], "notifications")


def first_ready_notification(daemon):
    for _, _, text in daemon.notify.since():
        if "READY=1" in text.split("\n"):
            return text
    return ""


def notify_fields(text):
    out = {}
    for line in text.split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


# ---------------------------------------------------------------------------------------------------
# Console log lines of structured events: MESSAGE " MESSAGE_ID=" ID { " " NAME "=" VALUE }


def _unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "x" and i + 3 < len(s):
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_event_line(line):
    """(message, {field: value}) or None for a plain message."""
    i = line.find(" MESSAGE_ID=")
    if i < 0:
        return None
    message, rest = line[:i], line[i + 1:]
    fields = {}
    pos = 0
    while pos < len(rest):
        eq = rest.index("=", pos)
        name = rest[pos:eq]
        pos = eq + 1
        if pos < len(rest) and rest[pos] == '"':
            j = pos + 1
            while rest[j] != '"':
                j += 2 if rest[j] == "\\" else 1
            value = _unescape(rest[pos + 1:j])
            pos = j + 1
        else:
            j = rest.find(" ", pos)
            j = len(rest) if j < 0 else j
            value = rest[pos:j]
            pos = j
        fields[name] = value
        if pos < len(rest) and rest[pos] == " ":
            pos += 1
    return message, fields


def load_message_ids(source_root):
    ids = {}
    with open(os.path.join(source_root, "src", "shared", "message-ids.h")) as f:
        for name, value in re.findall(r'#define\s+QUALITY_MESSAGE_(\w+)\s+"([0-9a-f]{32})"', f.read()):
            ids[name] = value
    return ids


# ---------------------------------------------------------------------------------------------------
# One daemon in its own directory


class Daemon:
    all_logs = []  # (name, path) of every daemon's stderr, checked for sanitizer reports at the end
    exit_problems = []

    def __init__(self, bus, base, daemon_path, source_root, name, config_text=None, state_from=None,
                 keep_generations=None, check_interval=None, admin_group=None, read_only_dirs=(),
                 watchdog=True, workflows_from=None, workflows_root_option=True, relative_paths=False):
        self.bus = bus
        self.name = name
        self.daemon_path = daemon_path
        self.dir = tempfile.mkdtemp(prefix=name + ".", dir=base)
        os.chmod(self.dir, 0o755)
        self.config_dir = os.path.join(self.dir, "etc")
        self.config_path = os.path.join(self.config_dir, "quality_mappings.yaml")
        self.workflows = workflows_from or os.path.join(self.dir, "workflows")
        self.state_dir = state_from or os.path.join(self.dir, "state")
        os.makedirs(self.config_dir, exist_ok=True)
        if not workflows_from:
            shutil.copytree(os.path.join(source_root, "etc", "workflows"), self.workflows)
        os.makedirs(self.state_dir, exist_ok=True)
        if config_text is not None:
            with open(self.config_path, "w") as f:
                f.write(config_text)
        # relative_paths: the daemon runs in its directory and is given paths relative to it.
        rel = (lambda p: os.path.relpath(p, self.dir)) if relative_paths else (lambda p: p)
        self.cwd = self.dir if relative_paths else None
        self.args = ["--config", rel(self.config_path), "--state-dir", rel(self.state_dir), "--log-target",
                     "console"]
        if workflows_root_option:
            self.args += ["--workflows-root", rel(self.workflows)]
        if keep_generations is not None:
            self.args += ["--keep-generations", str(keep_generations)]
        if check_interval is not None:
            self.args += ["--check-interval", str(check_interval)]
        if admin_group is not None:
            self.args += ["--admin-group", admin_group]
        self.read_only_dirs = list(read_only_dirs)  # read-only bind mounts in the daemon's mount namespace
        self.watchdog = watchdog
        self.process = None
        self.notify = None
        self.log_path = None
        self.generation_log_offset = 0
        self.starts = 0
        self.unique_name = None

    def start(self, timeout=30, wait_ready=True):
        self.starts += 1
        self.log_path = os.path.join(self.dir, "daemon.%d.log" % self.starts)
        Daemon.all_logs.append((self.name, self.log_path))
        sock = os.path.join(self.dir, "notify.%d.sock" % self.starts)
        self.notify = NotifySocket(sock)
        env = dict(self.bus.env, NOTIFY_SOCKET=sock, NO_COLOR="1", SYSTEMD_LOG_LEVEL="info")
        for k in ("STATE_DIRECTORY", "QUALITY_CONFIG_PATH", "COMFYUI_WORKFLOWS_ROOT", "QUALITY_LOG_TARGET",
                  "QUALITY_LOG_LEVEL", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS",
                  "LISTEN_PID", "INVOCATION_ID"):
            env.pop(k, None)
        if self.watchdog:
            env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
        # The daemon runs with umask 077, so that Deploy must set 0644 itself; WATCHDOG_PID is its own
        # PID because exec keeps the shell's.
        script = 'umask 077; export WATCHDOG_PID=$$; exec "$@"'
        argv = ["sh", "-c", script, "sh", self.daemon_path] + self.args
        if self.read_only_dirs:
            # Like a directory missing from ReadWritePaths= in the unit: a read-only bind mount in the
            # daemon's own mount namespace.
            script = ('for d in $RO_DIRS; do mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 1; '
                      'done; unset RO_DIRS; ' + script)
            env["RO_DIRS"] = " ".join(self.read_only_dirs)
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                    self.daemon_path] + self.args
        self.log = open(self.log_path, "w")
        self.started_realtime = time.time()
        self.process = spawn(argv, env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                             cwd=self.cwd)
        if not wait_ready:
            return self
        ready = self.notify.wait(lambda t: "READY=1" in t.split("\n"), 0, timeout)
        if not ready:
            raise Failure("daemon %s did not send READY=1 within %ds (exit %s); log:\n%s"
                          % (self.name, timeout, self.process.poll(), self.log_text()[-3000:]))
        self.unique_name = self.bus.name_owner()
        return self

    def stop(self, timeout=30):
        """SIGTERM; returns the exit status. A status other than 0 is recorded as a problem."""
        if not self.process or self.process.poll() is not None:
            rc = self.process.poll() if self.process else None
        else:
            self.process.send_signal(signal.SIGTERM)
            try:
                rc = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
                rc = "hung (killed)"
        self.log.close()
        if self.notify:
            self.notify.close()
        if rc != 0:
            Daemon.exit_problems.append("%s (start %d): exit status %s" % (self.name, self.starts, rc))
        return rc

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_lines(self):
        return self.log_text().splitlines()

    def events(self, message_id=None):
        out = []
        for line in self.log_lines():
            e = parse_event_line(line)
            if e and (message_id is None or e[1].get("MESSAGE_ID") == message_id):
                out.append((e[0], e[1], line))
        return out

    def log_mark(self):
        return len(self.log_lines())

    def events_since(self, mark, message_id):
        out = []
        for line in self.log_lines()[mark:]:
            e = parse_event_line(line)
            if e and e[1].get("MESSAGE_ID") == message_id:
                out.append((e[0], e[1], line))
        return out

    def wait_event(self, mark, message_id, predicate=lambda f: True, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events_since(mark, message_id):
                if predicate(e[1]):
                    return e
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def read_config(self):
        with open(self.config_path, "rb") as f:
            return f.read()

    def write_config(self, text):
        """Replaces the file as an editor would: a new file renamed over the old one."""
        tmp = self.config_path + ".edit"
        with open(tmp, "wb") as f:
            f.write(text.encode() if isinstance(text, str) else text)
        os.rename(tmp, self.config_path)


# ---------------------------------------------------------------------------------------------------
# Helpers for answers


def variant_dict(d):
    """busctl's JSON for a{sv} -> {key: (type, value)}"""
    return {k: (v["type"], v["data"]) for k, v in d.items()}


def problems_of(validate_data):
    ok, problems = validate_data
    return ok, [tuple(p) for p in problems]


def errors_of(problems):
    return [p for p in problems if p[0] == "error"]


def check_resolve(bus, task, tier, workflows, steps_bump=0, user=None):
    data = bus.must("Resolve", "ss", task, tier, user=user)
    check_eq(data[0], workflow_path(task, tier), "workflow_path")
    check_eq(data[1], os.path.join(workflows, workflow_path(task, tier), "workflow_api.json"), "workflow_file")
    check_eq(variant_dict(data[2]), expected_parameters(tier, steps_bump), "parameters")
    return data


def generations(bus):
    return [tuple(g) for g in bus.must("ListGenerations")[0]]


def file_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# ---------------------------------------------------------------------------------------------------
# The tests


class Context:
    def __init__(self, daemon_path, source_root):
        self.daemon_path = os.path.abspath(daemon_path)
        self.source_root = os.path.abspath(source_root)
        self.base = tempfile.mkdtemp(prefix="auteur-quality-it.")
        os.chmod(self.base, 0o755)
        self.ids = load_message_ids(self.source_root)
        self.is_root = os.geteuid() == 0
        with open(self.daemon_path, "rb") as f:
            binary = f.read()
        self.sanitized = b"__asan_init" in binary or b"__ubsan_handle" in binary
        self.bus = Bus(self.base, self.source_root)
        self.daemons = []
        self.created_group = False
        # Without root, the admin methods are allowed through a group of the test's user (if the bus reports
        # the caller's groups); the checks that need root are skipped.
        self.default_admin_group = None
        if not self.is_root:
            for gid in os.getgroups() + [os.getgid()]:
                try:
                    self.default_admin_group = grp.getgrgid(gid).gr_name
                    break
                except KeyError:
                    continue

    def daemon(self, name, **kwargs):
        if self.default_admin_group and kwargs.get("admin_group") is None:
            kwargs["admin_group"] = self.default_admin_group
        d = Daemon(self.bus, self.base, self.daemon_path, self.source_root, name, **kwargs)
        self.daemons.append(d)
        return d

    def close(self):
        for d in self.daemons:
            if d.alive():
                d.stop()
        self.bus.stop()
        if self.created_group:
            subprocess.run(["groupdel", TEST_ADMIN_GROUP], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.environ.get("QUALITY_TEST_KEEP_TMP"):
            TAP.diag("kept " + self.base)
        else:
            shutil.rmtree(self.base, ignore_errors=True)


def needs_root(ctx):
    if not ctx.is_root:
        raise Skip("needs root (setpriv, unshare, groupadd)")


def id_fields_check(ctx, daemon, event, required):
    """The event named by its message-ids.h name is in the log with every field in required (a dict of
    name -> expected value or None for 'present'). Returns the matching entry."""
    mid = ctx.ids[event]
    entries = daemon.events(mid)
    check(entries, "no %s event (MESSAGE_ID=%s) in the log of %s" % (event, mid, daemon.name))
    for message, fields, line in entries:
        if all(k in fields and (v is None or fields[k] == v) for k, v in required.items()):
            return fields
    raise Failure("no %s event with fields %r; got:\n%s" % (event, required, "\n".join(e[2] for e in entries)))
