# SPDX-License-Identifier: LGPL-2.1-or-later
"""The private system bus of the daemon's integration tests (test-daemon-*.py): a dbus-daemon with a
monitor, busctl calls correlated with the monitor's copy of their replies, the parsing of their answers,
and a minimal D-Bus wire client for the one call busctl cannot make.

Every call goes through the real busctl. One "busctl monitor" on the private bus records every message,
so that the tests see D-Bus error names (busctl prints only the message), signals, and when each reply
was sent. Python standard library only.
"""

import json
import os
import pwd
import socket
import struct
import subprocess
import threading
import time

from qualityd_tap import check, spawn

BUS_NAME = "org.auteur.QualityTier"
BUS_PATH = "/org/auteur/QualityTier"
BUS_IFACE = "org.auteur.QualityTier"
ERR = "org.auteur.QualityTier.Error."
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"


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
# Answers: busctl's JSON made plain


def variant_dict(d):
    """busctl's JSON for a{sv} -> {key: (type, value)}"""
    return {k: (v["type"], v["data"]) for k, v in d.items()}


def problems_of(validate_data):
    ok, problems = validate_data
    return ok, [tuple(p) for p in problems]


def errors_of(problems):
    return [p for p in problems if p[0] == "error"]


def generations(bus):
    return [tuple(g) for g in bus.must("ListGenerations")[0]]
