#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration test of auteur-qualityd on a private system bus, with TAP output.

Usage: test-daemon.py PATH-TO-auteur-qualityd SOURCE-ROOT

Every method, error, property and signal of org.auteur.QualityTier through the real busctl, the sd_notify
messages, the console log lines of each event, hostile callers and files. Each group of checks starts a
daemon in a fresh temporary directory (config file, workflows copied from etc/workflows, state directory,
notify socket, stderr log); qualityd_harness.py beside this file has the machinery.

Run as root for every check; without root, those that need it (setpriv, unshare, groupadd) are skipped.
Set QUALITY_TEST_KEEP_TMP=1 to keep the temporary directory.

Exit status: 0 when every check passed, 1 otherwise, 77 when dbus-daemon or busctl is missing (with
"1..0 # SKIP ..."; $TAP_SKIP_EXIT_STATUS replaces the 77, since a TAP harness such as meson's counts any
non-zero status as an error).
"""

import grp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qualityd_harness import *  # noqa: E402,F401,F403 (the harness's names are the test's vocabulary)
from qualityd_harness import _on_signal  # noqa: E402


# ---- daemon A: one long-lived daemon for the read-only methods, properties and hostile callers ----

def tests_shared(ctx):
    bus = ctx.bus
    config = make_config()
    a = ctx.daemon("shared", config_text=config)

    with TAP.case("start-up: READY=1 with STATUS= is the first state notification, the name is owned then"):
        a.start()
        msgs = [m[2] for m in a.notify.since()]
        ready = [i for i, m in enumerate(msgs) if "READY=1" in m.split("\n")]
        check(ready, "no READY=1: %r" % msgs)
        check(not any(k in m for m in msgs[:ready[0]] for k in ("RELOADING=", "STOPPING=", "ERRNO=")),
              "notifications before READY=1: %r" % msgs[:ready[0]])
        f = notify_fields(msgs[ready[0]])
        check(f.get("STATUS"), "READY=1 without STATUS=: %r" % msgs[ready[0]])
        for word in ("itest", "1", "6", "healthy"):
            check(word in f["STATUS"], "STATUS= does not mention %r: %r" % (word, f["STATUS"]))
        check(a.unique_name, "nobody owns %s after READY=1" % BUS_NAME)

    # -- methods --
    with TAP.case("Validate: a good text is ok with no errors (and the shipped production sample too)"):
        ok, problems = problems_of(bus.must("Validate", "s", config))
        check(ok is True and not errors_of(problems), "ok=%r problems=%r" % (ok, problems))
        warnings = {p[1] for p in problems}
        check("parameters-not-applicable" not in warnings, "unexpected warnings %r" % problems)
        check(any(p[1] == "unknown-key" or "clip_skip" in p[4] for p in problems if p[0] == "warning"),
              "the unknown parameter key clip_skip got no warning: %r" % problems)
        with open(os.path.join(ctx.source_root, "etc", "environments", "production.yaml")) as f:
            ok, problems = problems_of(bus.must("Validate", "s", f.read()))
        check(ok is True and not errors_of(problems), "production.yaml: ok=%r problems=%r" % (ok, problems))
        for p in problems:
            check(len(p) == 5 and p[0] in ("error", "warning") and isinstance(p[2], int)
                  and isinstance(p[3], int), "malformed problem %r" % (p,))

    with TAP.case("Validate: yaml-syntax error at its exact line:column"):
        text = 'version: "1.0"\nmappings: a: b\n'
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False, "ok=%r" % ok)
        hits = [p for p in problems if p[1] == "yaml-syntax"]
        check(hits, "no yaml-syntax problem: %r" % problems)
        check_eq((hits[0][0], hits[0][2], hits[0][3]), ("error", 2, 12), "severity, line, column")
        check(hits[0][4], "empty message")

    with TAP.case("Validate: unknown-key at its exact line:column with a suggestion"):
        text = config.replace("  mappings:", "  mapings:", 1)
        line, column = position_of(text, "mapings:")
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False, "ok=%r" % ok)
        hits = [p for p in problems if p[1] == "unknown-key"]
        check(hits, "no unknown-key problem: %r" % problems)
        check_eq((hits[0][0], hits[0][2], hits[0][3]), ("error", line, column), "severity, line, column")
        check("did you mean 'mappings'" in hits[0][4], "no suggestion in %r" % hits[0][4])

    with TAP.case("Validate: positions with CRLF line ends and multi-byte characters count characters"):
        text = 'version: "1.0"\r\nmapings:\r\n  t: {}\r\n'
        ok, problems = problems_of(bus.must("Validate", "s", text))
        hits = [p for p in problems if p[1] == "unknown-key"]
        check(hits and hits[0][2:4] == (2, 1), "unknown-key not at 2:1: %r" % problems)
        text = ('version: "1.0"\nmappings:\n  character_portrait:\n    low: {description: "\u00e9\u00e9\u00e9 \u2014 '
                'draft", bogus_key: 1, workflow_path: %s}\n' % workflow_path("character_portrait", "low"))
        line, column = position_of(text, "bogus_key")
        ok, problems = problems_of(bus.must("Validate", "s", text))
        hits = [p for p in problems if p[1] in ("unknown-key", "yaml-syntax")]
        check(hits and hits[0][1] == "unknown-key" and hits[0][2:4] == (line, column),
              "unknown-key not at %d:%d (characters, not bytes): %r" % (line, column, problems))

    with TAP.case("Validate: bad-type (quoted number) and workflow-missing at the value's position"):
        text = config.replace("steps: 33", 'steps: "33"', 1)
        line, column = position_of(text, '"33"')
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False, "ok=%r" % ok)
        check(("error", "bad-type", line, column) in [p[:4] for p in problems],
              "no bad-type at %d:%d: %r" % (line, column, problems))
        text = config.replace(workflow_path("scene_generation", "standard"), "library/no/such_v9", 1)
        line, column = position_of(text, "library/no/such_v9")
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False, "ok=%r" % ok)
        hits = [p for p in problems if p[1] == "workflow-missing"]
        check(hits and hits[0][:4] == ("error", "workflow-missing", line, column),
              "no workflow-missing at %d:%d: %r" % (line, column, problems))
        check("workflow_api.json" in hits[0][4], "message does not name the workflow file: %r" % hits[0][4])

    with TAP.case('Validate "": validates the file at the config path'):
        ok, problems = problems_of(bus.must("Validate", "s", ""))
        check(ok is True and not errors_of(problems), "good file: ok=%r %r" % (ok, problems))
        original = a.read_config()
        try:
            a.write_config("environment: itest\nworkflows: [\n")
            ok, problems = problems_of(bus.must("Validate", "s", ""))
            check(ok is False and any(p[1] == "yaml-syntax" for p in problems),
                  "broken file: ok=%r %r" % (ok, problems))
        finally:
            a.write_config(original)

    with TAP.case("Health: status and JSON shape"):
        status, text = bus.must("Health")
        check_eq(status, "healthy", "status")
        h = json.loads(text)
        check_eq(h.get("status"), "healthy", "json status")
        check(isinstance(h.get("timestamp"), str) and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", h["timestamp"]),
              "timestamp %r" % h.get("timestamp"))
        check(isinstance(h.get("checks"), dict), "checks %r" % h.get("checks"))
        for name in ("configuration", "workflows", "permissions"):
            c = h["checks"].get(name)
            check(isinstance(c, dict) and isinstance(c.get("status"), str) and isinstance(c.get("details"), str),
                  "checks.%s = %r" % (name, c))
            check_eq(c["status"], "healthy", "checks.%s.status" % name)
        check_eq(h.get("failed_checks"), [], "failed_checks")

    with TAP.case("Resolve: workflow_path, absolute workflow_file, parameters typed x/d/s"):
        for task in TASKS:
            for tier in TIERS:
                check_resolve(bus, task, tier, a.workflows)

    with TAP.case("ListTaskTypes"):
        check_eq(sorted(bus.must("ListTaskTypes")[0]), sorted(TASKS), "task types")

    with TAP.case("ListTiers: (tier, workflow_path, parameters) in tier order"):
        tiers = bus.must("ListTiers", "s", "scene_generation")[0]
        check_eq([t[0] for t in tiers], list(TIERS), "tiers")
        for t in tiers:
            check_eq(t[1], workflow_path("scene_generation", t[0]), "workflow_path of " + t[0])
            check_eq(variant_dict(t[2]), expected_parameters(t[0]), "parameters of " + t[0])

    with TAP.case("DescribeTaskType: JSON shape"):
        d = json.loads(bus.must("DescribeTaskType", "s", "character_portrait")[0])
        check_eq(d.get("task_type"), "character_portrait", "task_type")
        tiers = d.get("available_tiers")
        check(isinstance(tiers, dict) and sorted(tiers) == sorted(TIERS), "available_tiers %r" % tiers)
        for tier, v in tiers.items():
            check_eq(v.get("workflow_path"), workflow_path("character_portrait", tier), tier + " workflow_path")
            check_eq(v.get("description"), "character_portrait at tier %s" % tier, tier + " description")
            params = v.get("parameters")
            check(isinstance(params, dict), "parameters %r" % params)
            for key, (t, value) in expected_parameters(tier).items():
                check(key in params and params[key] == value and isinstance(params[key], float if t == "d"
                                                                            else int if t == "x" else str),
                      "%s parameters[%s] = %r, expected %r" % (tier, key, params.get(key), value))

    with TAP.case("ListGenerations: (generation, applied usec, sha256, origin, environment)"):
        g = generations(bus)
        check_eq(len(g), 1, "number of generations")
        num, applied, sha, origin, env = g[0]
        check_eq((num, sha, origin, env), (1, sha256(config), "startup", "itest"), "generation 1")
        check(abs(applied / 1e6 - a.started_realtime) < 60, "applied %d is not about now" % applied)

    with TAP.case("GetMetrics: every metric of SPEC section 4 with HELP and TYPE"):
        bus.must("Resolve", "ss", "character_portrait", "low")
        text = bus.must("GetMetrics")[0]
        for name in METRICS:
            check(re.search(r"^# HELP %s \S" % name, text, re.M), "no HELP for " + name, text)
            check(re.search(r"^# TYPE %s (gauge|counter)$" % name, text, re.M), "no TYPE for " + name, text)
        check(re.search(r'^quality_tier_selection_total\{task_type="character_portrait",tier="low"\} \d+$', text,
                        re.M), "no selection sample", text)
        check(re.search(r"^quality_config_generation 1$", text, re.M), "quality_config_generation", text)
        check(re.search(r"^quality_mappings 6$", text, re.M), "quality_mappings", text)

    with TAP.case("Render: the tier's parameters written into KSampler and EmptyLatentImage"):
        for task in TASKS:
            for tier in TIERS:
                prompt = json.loads(bus.must("Render", "ss", task, tier)[0])
                check(isinstance(prompt.get("prompt"), dict), "no prompt object")
                with open(os.path.join(a.workflows, workflow_path(task, tier), "workflow_api.json")) as f:
                    original = json.load(f)
                check_eq(sorted(prompt["prompt"]), sorted(original), "node ids")
                params = {k: v for k, (t, v) in expected_parameters(tier).items()}
                seen = set()
                for node_id, node in prompt["prompt"].items():
                    inputs, before = node["inputs"], original[node_id]["inputs"]
                    if node["class_type"] == "KSampler":
                        seen.add("KSampler")
                        for p, i in (("steps", "steps"), ("cfg_scale", "cfg"), ("sampler_name", "sampler_name"),
                                     ("scheduler", "scheduler"), ("seed", "seed"), ("denoise", "denoise")):
                            check_eq(inputs.get(i), params.get(p, before.get(i)),
                                     "%s/%s KSampler %s" % (task, tier, i))
                        check(isinstance(inputs["cfg"], float), "cfg is not a number with a fraction")
                    elif node["class_type"] == "EmptyLatentImage":
                        seen.add("EmptyLatentImage")
                        for p in ("width", "height", "batch_size"):
                            check_eq(inputs.get(p), params.get(p, before.get(p)),
                                     "%s/%s EmptyLatentImage %s" % (task, tier, p))
                    else:
                        check_eq(inputs, before, "%s/%s node %s" % (task, tier, node_id))
                check_eq(seen, {"KSampler", "EmptyLatentImage"}, "nodes seen")

    # -- errors --
    with TAP.case("NoSuchTaskType from Resolve, Render, ListTiers, DescribeTaskType"):
        for member, args in (("Resolve", ("ss", "no_such_task", "low")), ("Render", ("ss", "no_such_task", "low")),
                             ("ListTiers", ("s", "no_such_task")), ("DescribeTaskType", ("s", "no_such_task"))):
            r = bus.call(member, *args)
            check_eq(r.error, ERR + "NoSuchTaskType", member)

    with TAP.case("NoSuchTier: an unknown tier name"):
        for tier in ("ultra", "", "LOW", "low "):
            r = bus.call("Resolve", "ss", "character_portrait", tier)
            check_eq(r.error, ERR + "NoSuchTier", "Resolve tier %r" % tier)
        r = bus.call("Render", "ss", "character_portrait", "ultra")
        check_eq(r.error, ERR + "NoSuchTier", "Render")

    with TAP.case("Validate: root_path elsewhere is a warning when the root came from --workflows-root"):
        ok, problems = problems_of(bus.must("Validate", "s", make_config(root_path="/tmp")))
        check(ok is True, "ok=%r %r" % (ok, problems))
        check(("warning", "root-path-mismatch") in [p[:2] for p in problems], "no warning: %r" % problems)
        ok, problems = problems_of(bus.must("Validate", "s", make_config(root_path="../workflows")))
        check(ok is True and "root-path-mismatch" not in [p[1] for p in problems],
              "a relative root_path naming the daemon's root: ok=%r %r" % (ok, problems))

    with TAP.case("start-up failure (bus name taken): ERRNO=, no READY=1, non-zero exit, clean stderr"):
        z = ctx.daemon("second", config_text=config)
        z.start(wait_ready=False)
        try:
            rc = z.process.wait(30)
        except subprocess.TimeoutExpired:
            z.process.kill()
            raise Failure("a second daemon kept running while %s is owned" % BUS_NAME)
        finally:
            z.log.close()
            time.sleep(0.1)
            z.notify.close()
        msgs = [m[2] for m in z.notify.since()]
        check(rc != 0, "exit status 0")
        check(any(re.match(r"^ERRNO=\d+$", line) for m in msgs for line in m.split("\n")), "no ERRNO=: %r" % msgs)
        check(not any("READY=1" in m.split("\n") for m in msgs), "READY=1 sent: %r" % msgs)
        check_eq(bus.name_owner(), a.unique_name, "owner of the name")
        check_resolve(bus, "character_portrait", "low", a.workflows)

    # -- properties --
    with TAP.case("properties: Version, Environment, Generation, Status, ConfigPath, WorkflowsRoot, Mappings, "
                  "LastReloadUSec, ConfigChangedOnDisk"):
        expected = {"Environment": "itest", "Generation": 1, "Status": "healthy", "ConfigPath": a.config_path,
                    "WorkflowsRoot": a.workflows, "Mappings": 6, "ConfigChangedOnDisk": False}
        types = {"Version": "s", "Environment": "s", "Generation": "t", "Status": "s", "ConfigPath": "s",
                 "WorkflowsRoot": "s", "Mappings": "u", "LastReloadUSec": "t", "ConfigChangedOnDisk": "b"}
        for name, t in types.items():
            got = bus.get_property(name)
            check_eq(got["type"], t, name + " type")
            if name in expected:
                check_eq(got["data"], expected[name], name)
        version = bus.get_property("Version")["data"]
        check(re.match(r"^\d+\.\d+", version), "Version %r" % version)
        last = bus.get_property("LastReloadUSec")["data"]
        check_eq(last, generations(bus)[-1][1], "LastReloadUSec vs. generation 1's applied time")

    with TAP.case("introspection matches dbus/org.auteur.QualityTier.xml"):
        test_introspection(ctx)

    # -- hostile callers --
    with TAP.case("hostile: wrong signatures get InvalidArgs and the daemon lives on"):
        for member, args in (("Resolve", ("s", "character_portrait")), ("Resolve", ("su", "character_portrait", 1)),
                             ("Validate", ("u", 3)), ("Rollback", ("s", "1")), ("Deploy", ("s", config)),
                             ("Health", ("s", "x")), ("ListTiers", ("as", 2, "a", "b")),
                             ("Render", ("sss", "a", "b", "c"))):
            r = bus.call(member, *args)
            check_eq(r.error, INVALID_ARGS, "%s%r" % (member, args[:1]))
        check(a.alive(), "the daemon died")
        check_resolve(bus, "character_portrait", "high", a.workflows)

    with TAP.case("hostile: unknown and odd task type names get NoSuchTaskType"):
        for name in ("x" * 5000, "../../etc/passwd", "Character_Portrait", "character_portrait\n", "%s%n",
                     "\u00e9t\u00e9", "character_portrait/low"):
            r = bus.call("Resolve", "ss", name, "low")
            check_eq(r.error, ERR + "NoSuchTaskType", "Resolve %r" % name[:40])
        check(a.alive(), "the daemon died")

    with TAP.case("hostile: a 20 MiB Validate text is too-large, the daemon keeps answering"):
        raw = RawBus(bus.socket)
        try:
            text = ("# " + "x" * 1021 + "\n") * (20 * 1024)
            t0, r0 = time.monotonic(), time.time()
            error, values = raw.call(BUS_NAME, BUS_PATH, BUS_IFACE, "Validate", "s", [text])
            elapsed = time.monotonic() - t0
            ctx.big_call_window = (r0, time.time())
        finally:
            raw.close()
        check(error is None, "Validate failed: %s" % error)
        ok, problems = values[0], [tuple(p) for p in values[1]]
        check(ok is False, "ok=%r" % ok)
        check(any(p[1] == "too-large" and p[0] == "error" and p[2:4] == (0, 0) for p in problems),
              "no too-large problem at 0:0: %r" % problems[:5])
        check(a.alive(), "the daemon died")
        check_resolve(bus, "scene_generation", "low", a.workflows)
        TAP.diag("20 MiB Validate answered in %.2f s" % elapsed)

    with TAP.case("hostile: garbage Validate texts get problems, not a crash"):
        garbage = ["\x01\x02\x7f{{{[[[::: - - ? !!binary &a *a <<: *a",
                   "[" * 10000, "{a: " * 3000, "- " * 20000, "\t\t: :\n\t- ]\n",
                   "environment: x\nenvironment: y\n", "%YAML 9.9\n---\nx: 1\n", "\ufeff\ufffd\u2028" * 100,
                   "a: &x [*x]\n", "workflows: {mappings: {t: {low: {workflow_path: /etc/passwd}}}}\n"]
        for text in garbage:
            r = bus.call("Validate", "s", text)
            check(r.ok, "Validate %r failed: %s" % (text[:30], r.describe()))
            ok, problems = problems_of(r.data)
            check(ok is False and errors_of(problems), "garbage %r: ok=%r %r" % (text[:30], ok, problems[:3]))
        check(a.alive(), "the daemon died")
        check_resolve(bus, "scene_generation", "high", a.workflows)

    with TAP.case("hostile: Deploy with control characters in the origin gets InvalidArgs, nothing changes"):
        before = a.read_config()
        for origin in ("evil\norigin", "tab\there", "esc\x1b[31m", "del\x7f", "o" * 5000):
            r = bus.call("Deploy", "ss", make_config(comment="origin test"), origin)
            check_eq(r.error, INVALID_ARGS, "origin %r" % origin[:20])
        check_eq(bus.get_property("Generation")["data"], 1, "Generation")
        check_eq(a.read_config(), before, "config file")
        check_eq(len(generations(bus)), 1, "number of generations")

    # -- authorisation --
    with TAP.case("authorisation: nobody gets AccessDenied from the daemon for Reload, Deploy, Rollback"):
        needs_root(ctx)
        mark = a.log_mark()
        for member, args in (("Reload", ()), ("Deploy", ("ss", make_config(comment="nobody"), "nobody")),
                             ("Rollback", ("t", 1))):
            r = bus.call(member, *args, user=NOBODY)
            check_eq(r.error, ACCESS_DENIED, member)
            check_eq(r.reply.get("sender"), a.unique_name, "sender of the refusal (must be the daemon, not the bus)")
        refusals = [e for e in a.events_since(mark, ctx.ids["UNAUTHORIZED_CALL"])
                    if e[1].get("QUALITY_CALLER_UID") == str(NOBODY)]
        check_eq(len(refusals), 3, "UNAUTHORIZED_CALL events with QUALITY_CALLER_UID=65534")
        check_eq(bus.get_property("Generation")["data"], 1, "Generation")

    with TAP.case("authorisation: nobody may call Health, Resolve, Validate and read properties"):
        needs_root(ctx)
        r = bus.call("Health", user=NOBODY)
        check(r.ok and r.data[0] == "healthy", "Health: " + r.describe())
        check_resolve(bus, "character_portrait", "standard", a.workflows, user=NOBODY)
        r = bus.call("Validate", "s", config, user=NOBODY)
        check(r.ok and r.data[0] is True, "Validate: " + r.describe())
        check_eq(bus.get_property("Status", user=NOBODY)["data"], "healthy", "Status as nobody")

    # -- notify --
    with TAP.case("sd_notify: WATCHDOG=1 at least every second or so with WATCHDOG_USEC=2s"):
        mark = a.notify.mark()
        time.sleep(3.2)
        pings = [m[0] for m in a.notify.since(mark) if "WATCHDOG=1" in m[2].split("\n")]
        check(len(pings) >= 2, "only %d WATCHDOG=1 in 3.2 s" % len(pings))
        gaps = [b - x for x, b in zip(pings, pings[1:])]
        check(all(g <= 1.8 for g in gaps), "gaps between pings %r" % gaps)
        # Over the whole life, hostile calls included, the loop never stalled past the watchdog. Under
        # ASan, libsystemd's read of a 20 MiB message is slow (sd-bus reallocs its read buffer to the same
        # size after every read, which ASan's realloc turns into a copy each time), so the gap across
        # that call is reported, not counted, in sanitizer builds.
        pings = [m[0] for m in a.notify.since() if "WATCHDOG=1" in m[2].split("\n")]
        stamps = [a.started_realtime] + pings + [time.time()]
        gaps = [(b - x, x, b) for x, b in zip(stamps, stamps[1:])]
        window = getattr(ctx, "big_call_window", None)
        if ctx.sanitized and window:
            for g in gaps:
                if g[1] < window[1] and g[2] > window[0] and g[0] >= WATCHDOG_USEC / 1e6:
                    TAP.diag("sanitizer build: %.2f s without WATCHDOG=1 across the 20 MiB call" % g[0])
            gaps = [g for g in gaps if not (g[1] < window[1] and g[2] > window[0])]
        worst = max(g[0] for g in gaps)
        check(worst < WATCHDOG_USEC / 1e6, "a gap of %.2f s without WATCHDOG=1 (watchdog would fire)" % worst)

    with TAP.case("sd_notify: STOPPING=1 on SIGTERM and exit status 0"):
        mark = a.notify.mark()
        proc = a.process
        a.process.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        a.notify.wait(lambda t: "STOPPING=1" in t.split("\n"), mark, 2)
        msgs = [m[2] for m in a.notify.since(mark)]
        a.stop()
        check(any("STOPPING=1" in m.split("\n") for m in msgs), "no STOPPING=1: %r" % msgs)
        check_eq(rc, 0, "exit status")
        id_fields_check(ctx, a, "DAEMON_STOPPING", {"QUALITY_GENERATION": "1"})


def test_introspection(ctx):
    path = os.path.join(ctx.source_root, "dbus", "org.auteur.QualityTier.xml")
    if not os.path.exists(path):
        raise Skip("dbus/org.auteur.QualityTier.xml does not exist yet")
    p = ctx.bus.busctl(["introspect", BUS_NAME, BUS_PATH], options=["--xml-interface"])
    check(p.returncode == 0, "busctl introspect failed: " + p.stderr)

    def describe(root):
        iface = None
        for i in root.iter("interface"):
            if i.get("name") == BUS_IFACE:
                iface = i
        check(iface is not None, "no interface %s" % BUS_IFACE)
        methods = {m.get("name"): [(a.get("name"), a.get("type"), a.get("direction", "in"))
                                   for a in m.findall("arg")] for m in iface.findall("method")}
        props = {x.get("name"): (x.get("type"), x.get("access")) for x in iface.findall("property")}
        sigs = {s.get("name"): [(a.get("name"), a.get("type")) for a in s.findall("arg")]
                for s in iface.findall("signal")}
        return methods, props, sigs

    live = describe(ET.fromstring(p.stdout))
    with open(path) as f:
        text = f.read()
    # The DOCTYPE is fine for ElementTree; an external entity would not be.
    shipped = describe(ET.fromstring(text))
    for what, l, s in zip(("methods", "properties", "signals"), live, shipped):
        if l != s:
            diff = ["%s: live %r, file %r" % (k, l.get(k), s.get(k)) for k in sorted(set(l) | set(s))
                    if l.get(k) != s.get(k)]
            raise Failure("%s differ:\n%s" % (what, "\n".join(diff)))
    # The SPEC's table, independently of both.
    methods = live[0]
    check_eq(sorted(methods), sorted(["Validate", "Reload", "Deploy", "Rollback", "Health", "Resolve",
                                      "ListTaskTypes", "ListTiers", "DescribeTaskType", "ListGenerations",
                                      "GetMetrics", "Render"]), "method names")
    sig = {m: ("".join(a[1] for a in args if a[2] == "in"), "".join(a[1] for a in args if a[2] == "out"))
           for m, args in methods.items()}
    for m, expected in {"Validate": ("s", "ba(ssuus)"), "Reload": ("", "t"), "Deploy": ("ss", "t"),
                        "Rollback": ("t", "t"), "Health": ("", "ss"), "Resolve": ("ss", "ssa{sv}"),
                        "ListTaskTypes": ("", "as"), "ListTiers": ("s", "a(ssa{sv})"),
                        "DescribeTaskType": ("s", "s"), "ListGenerations": ("", "a(ttsss)"),
                        "GetMetrics": ("", "s"), "Render": ("ss", "s")}.items():
        check_eq(sig[m], expected, m + " signature")
    check_eq(live[1], {"Version": ("s", "read"), "Environment": ("s", "read"), "Generation": ("t", "read"),
                       "Status": ("s", "read"), "ConfigPath": ("s", "read"), "WorkflowsRoot": ("s", "read"),
                       "Mappings": ("u", "read"), "LastReloadUSec": ("t", "read"),
                       "ConfigChangedOnDisk": ("b", "read")}, "properties")
    check_eq(live[2], {"Reloaded": [("generation", "t"), ("sha256", "s")]}, "signals")


# ---- daemon B: Reload, Deploy, Rollback, signals, notify order, the config file on disk ----

def tests_apply(ctx):
    bus = ctx.bus
    c1 = make_config(comment="generation one")
    b = ctx.daemon("apply", config_text=c1)
    b.start()
    active = {"generation": 1, "text": c1, "bump": 0}

    with TAP.case("NoSuchGeneration: Rollback 0 with no predecessor, an unknown K"):
        for k in (0, 2, 7, 2 ** 64 - 1):
            r = bus.call("Rollback", "t", k)
            check_eq(r.error, ERR + "NoSuchGeneration", "Rollback %d" % k)
        check_eq(bus.get_property("Generation")["data"], 1, "Generation")

    c2 = make_config(comment="generation two", steps_bump=1)
    with TAP.case("ConfigChangedOnDisk turns true within 2 s of an edit, with PropertiesChanged and a log entry"):
        mark, lmark = bus.mark(), b.log_mark()
        t0 = time.monotonic()
        b.write_config(c2)
        sig = bus.wait_property_changed(mark, "ConfigChangedOnDisk", True, 2.5)
        check(sig, "no PropertiesChanged(ConfigChangedOnDisk=true) within 2.5 s")
        check(sig["_received"] - t0 <= 2.0, "took %.2f s" % (sig["_received"] - t0))
        check_eq(bus.get_property("ConfigChangedOnDisk")["data"], True, "ConfigChangedOnDisk")
        check_eq(bus.get_property("Generation")["data"], 1, "Generation (an edit is not applied)")
        check_resolve(bus, "character_portrait", "low", b.workflows)
        e = b.wait_event(lmark, ctx.ids["CONFIG_CHANGED_ON_DISK"])
        check(e, "no CONFIG_CHANGED_ON_DISK event")
        check_eq((e[1].get("QUALITY_CONFIG_PATH"), e[1].get("QUALITY_CONFIG_SHA256"), e[1].get("QUALITY_GENERATION")),
                 (b.config_path, sha256(c2), "1"), "fields")

    with TAP.case("Reload: new generation, Reloaded(t,s), PropertiesChanged, ConfigChangedOnDisk false again"):
        mark, lmark, nmark = bus.mark(), b.log_mark(), b.notify.mark()
        r = bus.call("Reload")
        check(r.ok, r.describe())
        check_eq(r.data, [2], "reply")
        sig = bus.wait(lambda m: m.get("member") == "Reloaded", mark, 2)
        check(sig, "no Reloaded signal")
        check_eq(sig["payload"]["data"], [2, sha256(c2)], "Reloaded(generation, sha256)")
        check_eq(sig["sender"], b.unique_name, "signal sender")
        check(bus.wait_property_changed(mark, "Generation", 2, 2), "no PropertiesChanged(Generation=2)")
        check(bus.wait_property_changed(mark, "ConfigChangedOnDisk", False, 2),
              "no PropertiesChanged(ConfigChangedOnDisk=false)")
        check_eq(bus.get_property("ConfigChangedOnDisk")["data"], False, "ConfigChangedOnDisk")
        check_resolve(bus, "character_portrait", "low", b.workflows, steps_bump=1)
        last = bus.get_property("LastReloadUSec")["data"]
        check(abs(last / 1e6 - time.time()) < 30, "LastReloadUSec %d is not about now" % last)
        check_eq(generations(bus)[-1][3], "reload", "origin")
        fields = id_fields_check(ctx, b, "CONFIG_APPLIED", {"QUALITY_GENERATION": "2"})
        check_eq((fields.get("QUALITY_ENVIRONMENT"), fields.get("QUALITY_CONFIG_PATH"),
                  fields.get("QUALITY_CONFIG_SHA256")), ("itest", b.config_path, sha256(c2)), "CONFIG_APPLIED fields")
        active.update(generation=2, text=c2, bump=1)
        ctx.reload_result = (r, mark, b, nmark)

    with TAP.case("sd_notify: RELOADING=1 with MONOTONIC_USEC= then READY=1, both before the Reload reply"):
        r, _, _, nmark = ctx.reload_result
        check_notify_around_apply(b, nmark, r)

    with TAP.case("Reload of an unchanged file: same generation, no signal, no notification"):
        mark, nmark = bus.mark(), b.notify.mark()
        check_eq(bus.must("Reload"), [2], "reply")
        check_no_notify(b, nmark)
        check_eq(bus.signals(mark, "Reloaded"), [], "Reloaded signals")
        check_eq(bus.properties_changed(mark, "Generation"), [], "PropertiesChanged(Generation)")

    c3 = make_config(comment="generation three", steps_bump=2)
    with TAP.case("Deploy: writes the file atomically with mode 0644 under umask 077, new generation, signals"):
        before = os.stat(b.config_path)
        mark, nmark = bus.mark(), b.notify.mark()
        r = bus.call("Deploy", "ss", c3, "itest-deploy")
        check(r.ok, r.describe())
        check_eq(r.data, [3], "reply")
        check_notify_around_apply(b, nmark, r)
        check_eq(b.read_config(), c3.encode(), "config file content")
        check_eq(file_mode(b.config_path), 0o644, "config file mode")
        check(os.stat(b.config_path).st_ino != before.st_ino, "the file was rewritten in place, not renamed over")
        leftovers = [n for n in os.listdir(b.config_dir) if n != os.path.basename(b.config_path)]
        check_eq(leftovers, [], "other files in the config directory")
        sig = bus.wait(lambda m: m.get("member") == "Reloaded", mark, 2)
        check(sig and sig["payload"]["data"] == [3, sha256(c3)], "Reloaded: %r" % (sig and sig["payload"]))
        check(bus.wait_property_changed(mark, "Generation", 3, 2), "no PropertiesChanged(Generation=3)")
        g = generations(bus)[-1]
        check_eq((g[0], g[2], g[3], g[4]), (3, sha256(c3), "itest-deploy", "itest"), "generation 3")
        check_resolve(bus, "scene_generation", "high", b.workflows, steps_bump=2)
        active.update(generation=3, text=c3, bump=2)

    with TAP.case("Deploy does not set ConfigChangedOnDisk (the daemon's own write)"):
        time.sleep(1.0)
        check_eq(bus.get_property("ConfigChangedOnDisk")["data"], False, "ConfigChangedOnDisk")
        check_eq([c for c in bus.properties_changed(ctx.reload_result[1], "ConfigChangedOnDisk")
                  if c["ConfigChangedOnDisk"] is True], [], "PropertiesChanged(ConfigChangedOnDisk=true) since the "
                 "Reload")

    with TAP.case("Deploy of identical text: same generation, no Reloaded, no notification"):
        mark, nmark = bus.mark(), b.notify.mark()
        check_eq(bus.must("Deploy", "ss", c3, "again"), [3], "reply")
        check_no_notify(b, nmark)
        check_eq(bus.signals(mark, "Reloaded"), [], "Reloaded signals")
        check_eq(len(generations(bus)), 3, "number of generations")

    with TAP.case("failed Deploy: InvalidConfig, file byte-identical, generation unchanged, CONFIG_REJECTED logged"):
        before, ino = b.read_config(), os.stat(b.config_path).st_ino
        lmark, mark = b.log_mark(), bus.mark()
        bad = c3.replace("steps: 63", "steps: 0", 1)
        check(bad != c3, "test bug: no steps: 63 in c3")
        r = bus.call("Deploy", "ss", bad, "bad")
        check_eq(r.error, ERR + "InvalidConfig", "error")
        check("out-of-range" in r.message, "the error message does not name the problem: %r" % r.message)
        check_eq(b.read_config(), before, "config file")
        check_eq(os.stat(b.config_path).st_ino, ino, "config file inode")
        check_eq(bus.get_property("Generation")["data"], 3, "Generation")
        check_eq(len(generations(bus)), 3, "number of generations")
        check_eq(bus.signals(mark, "Reloaded"), [], "Reloaded signals")
        e = b.wait_event(lmark, ctx.ids["CONFIG_REJECTED"])
        check(e, "no CONFIG_REJECTED event")
        check_eq((e[1].get("QUALITY_PROBLEM_CODE"), e[1].get("QUALITY_CONFIG_PATH"), e[1].get("QUALITY_GENERATION")),
                 ("out-of-range", b.config_path, "3"), "CONFIG_REJECTED fields")
        check_resolve(bus, "scene_generation", "high", b.workflows, steps_bump=2)

    with TAP.case("Reload of a broken file: InvalidConfig (RELOADING=1, READY=1 before it), Resolve keeps "
                  "answering from the old generation"):
        b.write_config(c3 + "quality_system: {}\n")
        nmark = b.notify.mark()
        r = bus.call("Reload")
        check_eq(r.error, ERR + "InvalidConfig", "error")
        check_notify_around_apply(b, nmark, r)
        check("duplicate-key" in r.message, "message %r" % r.message)
        check_eq(bus.get_property("Generation")["data"], 3, "Generation")
        for task in TASKS:
            for tier in TIERS:
                check_resolve(bus, task, tier, b.workflows, steps_bump=2)
        b.write_config(c3)
        r = bus.call("Validate", "s", "")
        check(r.ok and r.data[0] is True, "restored file")

    with TAP.case("Rollback K: new generation with origin rollback:K, file content restored, ROLLBACK logged"):
        mark, nmark = bus.mark(), b.notify.mark()
        r = bus.call("Rollback", "t", 1)
        check(r.ok, r.describe())
        check_eq(r.data, [4], "reply")
        check_notify_around_apply(b, nmark, r)
        check_eq(b.read_config(), c1.encode(), "config file content")
        check_eq(file_mode(b.config_path), 0o644, "config file mode")
        g = generations(bus)
        check_eq([x[0] for x in g], [1, 2, 3, 4], "generations")
        check_eq((g[3][2], g[3][3]), (sha256(c1), "rollback:1"), "generation 4")
        sig = bus.wait(lambda m: m.get("member") == "Reloaded", mark, 2)
        check(sig and sig["payload"]["data"] == [4, sha256(c1)], "Reloaded: %r" % (sig and sig["payload"]))
        check_resolve(bus, "character_portrait", "high", b.workflows)
        fields = id_fields_check(ctx, b, "ROLLBACK", {"QUALITY_GENERATION": "4"})
        check_eq(fields.get("QUALITY_CONFIG_PATH"), b.config_path, "QUALITY_CONFIG_PATH")

    with TAP.case("Rollback 0: the generation before the active one"):
        check_eq(bus.must("Rollback", "t", 0), [5], "reply")
        g = generations(bus)[-1]
        check_eq((g[0], g[2], g[3]), (5, sha256(c3), "rollback:3"), "generation 5")
        check_eq(b.read_config(), c3.encode(), "config file content")
        check_resolve(bus, "character_portrait", "standard", b.workflows, steps_bump=2)

    with TAP.case("TierDisabled: a config with tier high disabled"):
        text = make_config(disabled=("high",), comment="high disabled")
        r = bus.call("Validate", "s", text)
        check(r.ok and r.data[0] is True, r.describe())
        check(any(p[1] == "tier-disabled" and p[0] == "warning" for p in r.data[1]), "no tier-disabled warning")
        check_eq(bus.must("Deploy", "ss", text, "disabled"), [6], "Deploy")
        for member in ("Resolve", "Render"):
            r = bus.call(member, "ss", "character_portrait", "high")
            check_eq(r.error, ERR + "TierDisabled", member)
        tiers = [t[0] for t in bus.must("ListTiers", "s", "character_portrait")[0]]
        check_eq(tiers, ["low", "standard"], "ListTiers")
        check_resolve(bus, "character_portrait", "low", b.workflows)

    with TAP.case("NoSuchTier: an enabled tier without a mapping"):
        text = make_config(omit=(("scene_generation", "high"),), comment="unmapped")
        r = bus.call("Validate", "s", text)
        check(r.ok and r.data[0] is True, r.describe())
        check(any(p[1] == "tier-unmapped" and p[0] == "warning" for p in r.data[1]), "no tier-unmapped warning")
        check_eq(bus.must("Deploy", "ss", text, "unmapped"), [7], "Deploy")
        for member in ("Resolve", "Render"):
            r = bus.call(member, "ss", "scene_generation", "high")
            check_eq(r.error, ERR + "NoSuchTier", member)
        check_eq(bus.get_property("Mappings")["data"], 5, "Mappings")
        check_resolve(bus, "character_portrait", "high", b.workflows)

    with TAP.case("SIGHUP reloads the file"):
        c8 = make_config(comment="sighup", steps_bump=5)
        mark = bus.mark()
        b.write_config(c8)
        time.sleep(0.05)
        os.kill(b.process.pid, signal.SIGHUP)
        check(bus.wait_property_changed(mark, "Generation", 8, 5), "no PropertiesChanged(Generation=8)")
        check_eq(generations(bus)[-1][2:4], (sha256(c8), "reload"), "generation 8")
        check_resolve(bus, "character_portrait", "high", b.workflows, steps_bump=5)

    with TAP.case("config file deleted: ConfigChangedOnDisk true, Reload InvalidConfig, Resolve answers"):
        saved = b.read_config()
        mark = bus.mark()
        os.unlink(b.config_path)
        try:
            check(bus.wait_property_changed(mark, "ConfigChangedOnDisk", True, 2.5),
                  "no PropertiesChanged(ConfigChangedOnDisk=true) within 2.5 s of the deletion")
            r = bus.call("Reload")
            check_eq(r.error, ERR + "InvalidConfig", "Reload")
            check_eq(bus.get_property("Generation")["data"], 8, "Generation")
            check_resolve(bus, "character_portrait", "high", b.workflows, steps_bump=5)
        finally:
            b.write_config(saved)
        check(bus.wait_property_changed(mark, "ConfigChangedOnDisk", False, 2.5),
              "no PropertiesChanged(ConfigChangedOnDisk=false) after the file came back")

    victim = os.path.join(b.workflows, workflow_path("character_portrait", "standard"), "workflow_api.json")
    with TAP.case("Health re-checks workflows when the last check is over a second old (--check-interval 30)"):
        os.rename(victim, victim + ".saved")
        try:
            time.sleep(1.1)
            status, text = bus.must("Health")
            check_eq((status, json.loads(text)["status"]), ("degraded", "degraded"), "Health status")
            check_eq(bus.get_property("Status")["data"], "degraded", "Status")
            id_fields_check(ctx, b, "WORKFLOW_MISSING", {"QUALITY_TASK_TYPE": "character_portrait",
                                                        "QUALITY_TIER": "standard"})

            with TAP.case("Rollback validates generation K against today's workflows: InvalidConfig, nothing "
                          "changes"):
                before = b.read_config()
                r = bus.call("Rollback", "t", 2)
                check_eq(r.error, ERR + "InvalidConfig", "Rollback 2")
                check("workflow-missing" in r.message, "message %r" % r.message)
                check_eq(b.read_config(), before, "config file")
                check_eq(bus.get_property("Generation")["data"], 8, "Generation")
                r = bus.call("Deploy", "ss", make_config(comment="needs the missing workflow"), "x")
                check_eq(r.error, ERR + "InvalidConfig", "Deploy")
        finally:
            os.rename(victim + ".saved", victim)
        time.sleep(1.1)
        status, _ = bus.must("Health")
        check_eq(status, "healthy", "Health status after the workflow came back")

    with TAP.case("Deploy with an empty origin records origin 'deploy'; selection counters survive it"):
        bus.must("Render", "ss", "scene_generation", "low")
        before = bus.must("GetMetrics")[0]
        pat = r'^quality_tier_selection_total\{task_type="scene_generation",tier="low"\} (\d+)$'
        m = re.search(pat, before, re.M)
        check(m, "no selection counter after a Render", before)
        count = int(m.group(1))
        mark = bus.mark()
        check_eq(bus.must("Deploy", "ss", make_config(comment="empty origin", steps_bump=7), ""), [9], "Deploy")
        check_eq(generations(bus)[-1][3], "deploy", "origin")
        check(bus.wait_property_changed(mark, "Mappings", 6, 2), "no PropertiesChanged(Mappings=6)")
        bus.must("Render", "ss", "scene_generation", "low")
        bus.must("Resolve", "ss", "scene_generation", "low")
        after = bus.must("GetMetrics")[0]
        m = re.search(pat, after, re.M)
        check(m and int(m.group(1)) == count + 2, "counter %d -> %s" % (count, m and m.group(1)), after)
        check(re.search(r'^quality_reload_total\{result="success"\} \d+$', after, re.M)
              and re.search(r'^quality_reload_total\{result="failure"\} [1-9]\d*$', after, re.M),
              "quality_reload_total", after)
        m = re.search(r"^quality_config_last_modified (\d+(\.\d+)?)$", after, re.M)
        check(m and abs(float(m.group(1)) - bus.get_property("LastReloadUSec")["data"] / 1e6) < 1,
              "quality_config_last_modified", after)

    with TAP.case("log: CONFIG_APPLIED/REJECTED/ROLLBACK/CONFIG_CHANGED_ON_DISK carry MESSAGE_ID and QUALITY_* fields"):
        test_log_fields(ctx, b)
    b.stop()


def test_log_fields(ctx, d):
    applied = id_fields_check(ctx, d, "CONFIG_APPLIED", {"QUALITY_GENERATION": "3"})
    for k in ("QUALITY_ENVIRONMENT", "QUALITY_CONFIG_PATH", "QUALITY_CONFIG_SHA256"):
        check(applied.get(k), "CONFIG_APPLIED without " + k)
    check(re.match(r"^[0-9a-f]{64}$", applied["QUALITY_CONFIG_SHA256"]), "sha256 %r" % applied)
    rejected = id_fields_check(ctx, d, "CONFIG_REJECTED", {"QUALITY_PROBLEM_CODE": None, "QUALITY_CONFIG_PATH": None})
    check(rejected["QUALITY_PROBLEM_CODE"] in ("duplicate-key", "out-of-range"), "code %r" % rejected)
    id_fields_check(ctx, d, "ROLLBACK", {"QUALITY_GENERATION": "5", "QUALITY_CONFIG_PATH": d.config_path})
    id_fields_check(ctx, d, "CONFIG_CHANGED_ON_DISK", {"QUALITY_CONFIG_PATH": d.config_path,
                                                       "QUALITY_GENERATION": None})
    id_fields_check(ctx, d, "DAEMON_STARTED", {"QUALITY_CONFIG_PATH": d.config_path})
    known = set(ctx.ids.values())
    for line in d.log_lines():
        e = parse_event_line(line)
        if e:
            check(e[1]["MESSAGE_ID"] in known, "unknown MESSAGE_ID in %r" % line)
            check(all(re.match(r"^[A-Z][A-Z0-9_]*$", k) for k in e[1]), "bad field name in %r" % line)


# ---- daemon C: workflows vanish and return (--check-interval 1) ----

def tests_workflows(ctx):
    bus = ctx.bus
    c = ctx.daemon("workflows", config_text=make_config(), check_interval=1)
    c.start()
    victim = os.path.join(c.workflows, workflow_path("scene_generation", "standard"), "workflow_api.json")
    saved = victim + ".saved"

    with TAP.case("workflow deleted: Status degraded within ~2 s (PropertiesChanged), WORKFLOW_MISSING logged"):
        mark, lmark = bus.mark(), c.log_mark()
        t0 = time.monotonic()
        os.rename(victim, saved)
        sig = bus.wait_property_changed(mark, "Status", "degraded", 3)
        check(sig, "no PropertiesChanged(Status=degraded) within 3 s")
        check(sig["_received"] - t0 <= 2.5, "took %.2f s" % (sig["_received"] - t0))
        check_eq(bus.get_property("Status")["data"], "degraded", "Status")
        e = c.wait_event(lmark, ctx.ids["WORKFLOW_MISSING"])
        check(e, "no WORKFLOW_MISSING event")
        check_eq((e[1].get("QUALITY_TASK_TYPE"), e[1].get("QUALITY_TIER"), e[1].get("QUALITY_WORKFLOW_PATH")),
                 ("scene_generation", "standard", workflow_path("scene_generation", "standard")), "fields")
        check(e[1].get("QUALITY_PROBLEM_CODE"), "no QUALITY_PROBLEM_CODE")
        h = c.wait_event(lmark, ctx.ids["HEALTH_CHANGED"])
        check(h and h[1].get("QUALITY_GENERATION") == "1", "no HEALTH_CHANGED event with QUALITY_GENERATION")
        metrics = bus.must("GetMetrics")[0]
        m = re.search(r"^quality_workflow_missing_total (\d+)$", metrics, re.M)
        check(m and int(m.group(1)) == 1, "quality_workflow_missing_total", metrics)
        check(re.search(r"^quality_health_status 1$", metrics, re.M), "quality_health_status", metrics)
        status, text = bus.must("Health")
        hj = json.loads(text)
        check_eq((status, hj["status"], hj["checks"]["workflows"]["status"]), ("degraded",) * 3, "Health")
        check("workflows" in hj["failed_checks"], "failed_checks %r" % hj["failed_checks"])

    with TAP.case("workflow deleted: Render answers NotReady while Resolve still answers"):
        r = bus.call("Render", "ss", "scene_generation", "standard")
        check_eq(r.error, ERR + "NotReady", "Render")
        check_resolve(bus, "scene_generation", "standard", c.workflows)
        bus.must("Render", "ss", "scene_generation", "low")

    with TAP.case("workflow restored: Status healthy again, WORKFLOW_RESTORED logged"):
        mark, lmark = bus.mark(), c.log_mark()
        os.rename(saved, victim)
        check(bus.wait_property_changed(mark, "Status", "healthy", 3), "no PropertiesChanged(Status=healthy)")
        e = c.wait_event(lmark, ctx.ids["WORKFLOW_RESTORED"])
        check(e, "no WORKFLOW_RESTORED event")
        check_eq((e[1].get("QUALITY_TASK_TYPE"), e[1].get("QUALITY_TIER"), e[1].get("QUALITY_WORKFLOW_PATH")),
                 ("scene_generation", "standard", workflow_path("scene_generation", "standard")), "fields")
        bus.must("Render", "ss", "scene_generation", "standard")
        metrics = bus.must("GetMetrics")[0]
        check(re.search(r"^quality_workflow_missing_total 1$", metrics, re.M), "counter changed", metrics)

    target = os.path.join(c.workflows, workflow_path("character_portrait", "low"), "workflow_api.json")
    with TAP.case("workflow overwritten with invalid JSON: degraded (unusable counts as missing), then back"):
        with open(target, "rb") as f:
            original = f.read()
        mark, lmark = bus.mark(), c.log_mark()
        with open(target, "wb") as f:
            f.write(b'{"3": {"class_type": "KSampler", "inputs": ')
        try:
            check(bus.wait_property_changed(mark, "Status", "degraded", 3), "no PropertiesChanged(Status=degraded)")
            e = c.wait_event(lmark, ctx.ids["WORKFLOW_MISSING"], lambda f: f.get("QUALITY_TIER") == "low")
            check(e and e[1].get("QUALITY_PROBLEM_CODE") == "workflow-invalid-json",
                  "WORKFLOW_MISSING with QUALITY_PROBLEM_CODE=workflow-invalid-json: %r" % (e and e[2]))
            r = bus.call("Render", "ss", "character_portrait", "low")
            check_eq(r.error, ERR + "NotReady", "Render")
        finally:
            with open(target, "wb") as f:
                f.write(original)
        check(bus.wait_property_changed(mark, "Status", "healthy", 3), "no PropertiesChanged(Status=healthy)")

    with TAP.case("workflow replaced by a symlink out of the root: degraded, Render never reads the outside file"):
        outside = os.path.join(c.dir, "outside_workflow_api.json")
        with open(target, "rb") as f:
            original = f.read()
        with open(outside, "w") as f:
            f.write(original.decode().replace('"ckpt_name": "', '"ckpt_name": "OUTSIDE-'))
        mark = bus.mark()
        os.rename(target, target + ".saved")
        os.symlink(outside, target)
        try:
            check(bus.wait_property_changed(mark, "Status", "degraded", 3), "no PropertiesChanged(Status=degraded)")
            r = bus.call("Render", "ss", "character_portrait", "low")
            check(not (r.ok and "OUTSIDE-" in r.data[0]), "Render served a file from outside the root")
            check_eq(r.error, ERR + "NotReady", "Render")
            ok, problems = problems_of(bus.must("Validate", "s", make_config()))
            check(ok is False and "workflow-escapes-root" in [p[1] for p in problems],
                  "Validate: ok=%r %r" % (ok, problems))
        finally:
            os.unlink(target)
            os.rename(target + ".saved", target)
        check(bus.wait_property_changed(mark, "Status", "healthy", 3), "no PropertiesChanged(Status=healthy)")

    with TAP.case("Render: KSamplerAdvanced gets noise_seed (not seed) and no denoise"):
        custom = "library/custom/advanced_v1"
        os.makedirs(os.path.join(c.workflows, custom))
        workflow = {
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
            "2": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
            "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "a", "clip": ["1", 1]}},
            "4": {"class_type": "KSamplerAdvanced", "inputs": {
                "add_noise": "enable", "noise_seed": 1, "steps": 10, "cfg": 5.0, "sampler_name": "euler",
                "scheduler": "normal", "start_at_step": 0, "end_at_step": 10000,
                "return_with_leftover_noise": "disable", "model": ["1", 0], "positive": ["3", 0],
                "negative": ["3", 0], "latent_image": ["2", 0]}},
            "5": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0], "vae": ["1", 2]}},
        }
        with open(os.path.join(c.workflows, custom, "workflow_api.json"), "w") as f:
            json.dump(workflow, f)
        text = make_config(comment="advanced", workflow_paths={("character_portrait", "high"): custom})
        bus.must("Deploy", "ss", text, "advanced")
        prompt = json.loads(bus.must("Render", "ss", "character_portrait", "high")[0])["prompt"]
        adv = prompt["4"]["inputs"]
        p = {k: v for k, (t, v) in expected_parameters("high").items()}
        check_eq((adv["steps"], adv["cfg"], adv["sampler_name"], adv["scheduler"], adv["noise_seed"]),
                 (p["steps"], p["cfg_scale"], p["sampler_name"], p["scheduler"], p["seed"]), "KSamplerAdvanced inputs")
        check("denoise" not in adv and "seed" not in adv, "KSamplerAdvanced got denoise or seed: %r" % adv)
        check_eq((prompt["2"]["inputs"]["width"], prompt["2"]["inputs"]["height"], prompt["2"]["inputs"]["batch_size"]),
                 (p["width"], p["height"], 1), "EmptyLatentImage inputs")
        check_eq(prompt["4"]["inputs"]["model"], ["1", 0], "links stay")
    c.stop()


# ---- daemon D: the config directory cannot be written ----

def tests_unwritable(ctx):
    bus = ctx.bus
    with TAP.case("Deploy to an unwritable config path fails and changes nothing (read-only bind mount)"):
        needs_root(ctx)
        probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode != 0:
            raise Skip("unshare --mount does not work here")
        c1 = make_config(comment="read-only")
        d = ctx.daemon("readonly", config_text=c1)
        d.read_only_dirs = [d.config_dir]
        d.start()
        try:
            before = d.read_config()
            mark = bus.mark()
            r = bus.call("Deploy", "ss", make_config(comment="cannot be written", steps_bump=9), "ro")
            check(not r.ok, "Deploy succeeded")
            TAP.diag("Deploy to a read-only directory: %s" % r.describe())
            check(r.error != ERR + "InvalidConfig", "the error says the config is invalid")
            check_eq(d.read_config(), before, "config file")
            check_eq(bus.get_property("Generation")["data"], 1, "Generation")
            check_eq(len(generations(bus)), 1, "number of generations")
            check_eq(sorted(os.listdir(d.config_dir)), ["quality_mappings.yaml"], "config directory")
            check_eq(bus.signals(mark, "Reloaded"), [], "Reloaded signals")
            check_resolve(bus, "character_portrait", "high", d.workflows)
            status, text = bus.must("Health")
            check_eq(json.loads(text)["checks"]["permissions"]["status"] != "healthy", True,
                     "permissions check reports the read-only config directory")
        finally:
            d.stop()


    with TAP.case("Deploy when the state directory cannot be written fails, the config file is put back"):
        needs_root(ctx)
        c1 = make_config(comment="read-only state")
        d = ctx.daemon("readonlystate", config_text=c1)
        d.start()  # records generation 1 while the state directory is writable
        d.stop()
        d.read_only_dirs = [d.state_dir]
        d.start()
        try:
            check_eq(bus.get_property("Generation")["data"], 1, "Generation")
            before = d.read_config()
            mark = bus.mark()
            r = bus.call("Deploy", "ss", make_config(comment="cannot be recorded", steps_bump=9), "ro-state")
            check(not r.ok, "Deploy succeeded")
            TAP.diag("Deploy with a read-only state directory: %s" % r.describe())
            check(r.error != ERR + "InvalidConfig", "the error says the config is invalid")
            check_eq(d.read_config(), before, "config file")
            check_eq(file_mode(d.config_path), 0o644, "config file mode")
            check_eq(bus.get_property("Generation")["data"], 1, "Generation")
            check_eq(len(generations(bus)), 1, "number of generations")
            check_eq(bus.signals(mark, "Reloaded"), [], "Reloaded signals")
            check_resolve(bus, "character_portrait", "high", d.workflows)
            time.sleep(0.5)
            check_eq(bus.get_property("ConfigChangedOnDisk")["data"], False, "ConfigChangedOnDisk")
            check_eq(sorted(os.listdir(d.config_dir)), ["quality_mappings.yaml"], "config directory")
        finally:
            d.stop()


# ---- daemon E: no configuration, then Deploy, retention, restarts ----

def tests_lifecycle(ctx):
    bus = ctx.bus
    broken = "environment: itest\nquality_system: a: b\n"
    e = ctx.daemon("lifecycle", config_text=broken, keep_generations=50)

    with TAP.case("NotReady: no valid config and no generation: Status unhealthy, Resolve/Render NotReady"):
        e.start()
        check_eq(bus.get_property("Status")["data"], "unhealthy", "Status")
        check_eq(bus.get_property("Generation")["data"], 0, "Generation")
        for member in ("Resolve", "Render"):
            r = bus.call(member, "ss", "character_portrait", "low")
            check_eq(r.error, ERR + "NotReady", member)
        check_eq(bus.must("ListTaskTypes"), [[]], "ListTaskTypes")
        check_eq(generations(bus), [], "ListGenerations")
        f = notify_fields(first_ready_notification(e))
        check("READY" in f and f.get("STATUS"), "READY=1 with STATUS=: %r" % f)
        ok, problems = problems_of(bus.must("Validate", "s", broken))
        check(ok is False and errors_of(problems), "Validate of the file's text: %r" % problems)
        check(any(p[1] == "yaml-syntax" for p in problems), "no yaml-syntax problem: %r" % problems)
        id_fields_check(ctx, e, "CONFIG_REJECTED", {"QUALITY_PROBLEM_CODE": errors_of(problems)[0][1],
                                                    "QUALITY_CONFIG_PATH": e.config_path})

    with TAP.case("log: events while no configuration is active carry no QUALITY_GENERATION"):
        for message, fields, line in e.events():
            check("QUALITY_GENERATION" not in fields, "an event names a generation although none is active: %s"
                  % line)

    with TAP.case("NotReady: Health, Validate and GetMetrics still work"):
        status, text = bus.must("Health")
        h = json.loads(text)
        check_eq((status, h["status"]), ("unhealthy", "unhealthy"), "status")
        check("configuration" in h["failed_checks"], "failed_checks %r" % h["failed_checks"])
        check_eq(h["checks"]["configuration"]["status"], "unhealthy", "configuration check")
        ok, _ = problems_of(bus.must("Validate", "s", make_config()))
        check(ok is True, "Validate")
        metrics = bus.must("GetMetrics")[0]
        check(re.search(r"^quality_config_valid 0$", metrics, re.M), "quality_config_valid", metrics)
        check(re.search(r"^quality_health_status 2$", metrics, re.M), "quality_health_status", metrics)

    texts = {}
    with TAP.case("NotReady: Deploy then works (generation 1, healthy, Resolve answers)"):
        mark = bus.mark()
        texts[1] = make_config(comment="deploy 1")
        check_eq(bus.must("Deploy", "ss", texts[1], "first"), [1], "Deploy")
        check(bus.wait_property_changed(mark, "Status", "healthy", 2), "no PropertiesChanged(Status=healthy)")
        check_eq(e.read_config(), texts[1].encode(), "config file")
        check_resolve(bus, "character_portrait", "low", e.workflows)
        id_fields_check(ctx, e, "HEALTH_CHANGED", {"QUALITY_GENERATION": "1", "QUALITY_ENVIRONMENT": "itest"})

    with TAP.case("retention: after 55 distinct deploys exactly 50 generations, the oldest 5 gone"):
        t0 = time.monotonic()
        for n in range(2, 56):
            texts[n] = make_config(comment="deploy %d" % n, steps_bump=n % 3)
            r = bus.call("Deploy", "ss", texts[n], "retention-%d" % n)
            check(r.ok and r.data == [n], "Deploy %d: %s data=%r" % (n, r.describe(), r.data))
        TAP.diag("54 deploys took %.2f s" % (time.monotonic() - t0))
        g = generations(bus)
        check_eq([x[0] for x in g], list(range(6, 56)), "generation numbers")
        for x in g:
            check_eq((x[2], x[3], x[4]), (sha256(texts[x[0]]), "retention-%d" % x[0] if x[0] > 1 else "first",
                                          "itest"), "generation %d" % x[0])
        stored = sorted(n for n in os.listdir(os.path.join(e.state_dir, "generations")) if n.endswith(".yaml"))
        check_eq(stored, ["%08d.yaml" % n for n in range(6, 56)], "generation files")

    with TAP.case("retention: Rollback to a pruned generation is NoSuchGeneration; to a kept one works"):
        for k in (1, 5):
            r = bus.call("Rollback", "t", k)
            check_eq(r.error, ERR + "NoSuchGeneration", "Rollback %d" % k)
        check_eq(bus.must("Rollback", "t", 6), [56], "Rollback 6")
        check_eq(e.read_config(), texts[6].encode(), "config file")
        texts[56] = texts[6]
        g = generations(bus)
        check_eq((len(g), g[0][0], g[-1][0], g[-1][3]), (50, 7, 56, "rollback:6"), "generations")

    with TAP.case("restart: resumes the last applied generation when the file is broken (degraded)"):
        e.stop()
        e.write_config(broken)
        e.start()
        check_eq(bus.get_property("Status")["data"], "degraded", "Status")
        check_eq(bus.get_property("Generation")["data"], 56, "Generation")
        check_resolve(bus, "character_portrait", "high", e.workflows, steps_bump=6 % 3)
        check_eq(generations(bus)[-1][0], 56, "no generation was added")
        check_eq(bus.get_property("ConfigChangedOnDisk")["data"], True, "ConfigChangedOnDisk")
        status, text = bus.must("Health")
        h = json.loads(text)
        check_eq((status, h["checks"]["configuration"]["status"]), ("degraded", "degraded"), "Health")

    with TAP.case("degraded (invalid file at start-up): Reload of the repaired file, identical to the served "
                  "generation, makes Status healthy"):
        mark = bus.mark()
        e.write_config(texts[56])
        check(bus.wait_property_changed(mark, "ConfigChangedOnDisk", False, 2.5),
              "no PropertiesChanged(ConfigChangedOnDisk=false)")
        check_eq(bus.must("Reload"), [56], "Reload")
        check_eq(bus.get_property("Status")["data"], "healthy", "Status after Reload")
        status, text = bus.must("Health")
        check_eq((status, json.loads(text)["checks"]["configuration"]["status"]), ("healthy", "healthy"), "Health")

    with TAP.case("restart: an unchanged valid file resumes its generation without a new one"):
        e.stop()
        e.write_config(texts[56])
        e.start()
        check_eq((bus.get_property("Generation")["data"], bus.get_property("Status")["data"]), (56, "healthy"),
                 "Generation, Status")
        check_eq(generations(bus)[-1][0], 56, "no generation was added")

    with TAP.case("restart: a valid file that differs from the newest generation is recorded as 'startup'"):
        e.stop()
        texts[57] = make_config(comment="edited while stopped", steps_bump=4)
        e.write_config(texts[57])
        e.start()
        check_eq((bus.get_property("Generation")["data"], bus.get_property("Status")["data"]), (57, "healthy"),
                 "Generation, Status")
        g = generations(bus)
        check_eq((len(g), g[-1][0], g[-1][2], g[-1][3]), (50, 57, sha256(texts[57]), "startup"), "generations")
        check_eq(bus.get_property("ConfigChangedOnDisk")["data"], False, "ConfigChangedOnDisk")
        check_resolve(bus, "scene_generation", "low", e.workflows, steps_bump=4)
    e.stop()


# ---- daemon H: hostile files at the config path ----

def replace_fifo(fifo, path, data):
    """Puts a regular file with data where the FIFO was and wakes any reader blocked on the FIFO: opening it
    read-write makes a writer appear (a reader blocked in open() returns), closing it gives that reader
    end-of-file. Returns whether a reader seemed to be waiting."""
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        tmp = path + ".restore"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)
        time.sleep(0.3)
    finally:
        os.close(fd)
    return True


def tests_hostile_files(ctx):
    bus = ctx.bus
    config = make_config(comment="hostile files")
    d = ctx.daemon("files", config_text=config)
    d.start()

    def check_rejected(what, code=None, position=None):
        r = bus.call("Validate", "s", "", options=["--timeout=10"])
        check(r.ok, "%s: Validate \"\" failed: %s" % (what, r.describe()))
        ok, problems = problems_of(r.data)
        check(ok is False and errors_of(problems), "%s: ok=%r %r" % (what, ok, problems))
        if code:
            hits = [p for p in problems if p[1] == code]
            check(hits, "%s: no %s problem: %r" % (what, code, problems))
            if position:
                check_eq(hits[0][2:4], position, "%s: position of %s" % (what, code))
        r = bus.call("Reload", options=["--timeout=10"])
        check_eq(r.error, ERR + "InvalidConfig", "%s: Reload" % what)
        check_eq(bus.get_property("Generation")["data"], 1, "%s: Generation" % what)
        check_resolve(bus, "character_portrait", "high", d.workflows)

    with TAP.case("hostile files: NUL byte (yaml-syntax), invalid UTF-8 (not-utf8 at 0:0), 17 MiB (too-large at "
                  "0:0), a directory: Validate \"\" and Reload reject them, the old generation serves"):
        try:
            d.write_config(config.encode().replace(b"quality_system:", b"quality\0system:", 1))
            check_rejected("NUL byte", "yaml-syntax")
            d.write_config(b"environment: caf\xe9\n" + config.encode())
            check_rejected("invalid UTF-8", "not-utf8", (0, 0))
            d.write_config(b"#" * (17 * 1024 * 1024) + b"\n")
            check_rejected("17 MiB", "too-large", (0, 0))
            os.unlink(d.config_path)
            os.mkdir(d.config_path)
            check_rejected("a directory")
            os.rmdir(d.config_path)
        finally:
            if os.path.isdir(d.config_path):
                os.rmdir(d.config_path)
            d.write_config(config)

    with TAP.case("hostile files: a FIFO at the config path does not block the daemon"):
        mark = bus.mark()
        fifo = os.path.join(d.dir, "fifo")
        os.mkfifo(fifo)
        os.rename(fifo, d.config_path)
        try:
            time.sleep(0.6)  # inotify, then the 200 ms delay before the daemon hashes the file
            t0 = time.monotonic()
            r = bus.call("Resolve", "ss", "character_portrait", "low", options=["--timeout=3"])
            check(r.ok, "Resolve while a FIFO is at the config path: %s (after %.1f s)"
                  % (r.describe(), time.monotonic() - t0))
            check(bus.wait_property_changed(mark, "ConfigChangedOnDisk", True, 1),
                  "no PropertiesChanged(ConfigChangedOnDisk=true)")
            check_rejected("a FIFO")
            r = bus.call("Deploy", "ss", make_config(comment="over a FIFO"), "fifo", options=["--timeout=3"])
            check(r.ok or not r.error.startswith("(no reply seen"), "Deploy over a FIFO: %s" % r.describe())
        finally:
            os.link(d.config_path, fifo)  # keep a name for the FIFO, to open it after the rename
            replace_fifo(fifo, d.config_path, config.encode())
            os.unlink(fifo)
        check(d.alive(), "the daemon died")
    d.stop()

    with TAP.case("hostile files: a FIFO at the config path at start-up: READY=1 anyway, serving the last "
                  "generation (degraded)"):
        fifo = os.path.join(d.dir, "fifo")
        os.mkfifo(fifo)
        os.link(fifo, d.config_path + ".fifo")
        os.rename(d.config_path + ".fifo", d.config_path)
        try:
            d.start(wait_ready=False)
            ready = d.notify.wait(lambda t: "READY=1" in t.split("\n"), 0, 5)
            check(ready, "no READY=1 within 5 s (the daemon blocks opening the FIFO)")
            check_eq(bus.get_property("Status")["data"], "degraded", "Status")
            check_resolve(bus, "character_portrait", "low", d.workflows)
        finally:
            replace_fifo(fifo, d.config_path, config.encode())
            os.unlink(fifo)
            d.stop()


# ---- daemon G: the workflows root from the file; relative paths on the command line ----

def tests_roots(ctx):
    bus = ctx.bus
    g = ctx.daemon("rootfromfile", config_text=make_config(root_path="../workflows"), workflows_root_option=False)
    g.start()
    with TAP.case("workflows root from the file's root_path (relative to the config's directory)"):
        root = bus.get_property("WorkflowsRoot")["data"]
        check(os.path.isabs(root) and os.path.realpath(root) == os.path.realpath(g.workflows),
              "WorkflowsRoot %r is not %r" % (root, g.workflows))
        data = bus.must("Resolve", "ss", "scene_generation", "high")
        check(os.path.isabs(data[1]) and os.path.isfile(data[1]), "workflow_file %r" % data[1])
        check_eq(os.path.realpath(data[1]), os.path.realpath(os.path.join(
            g.workflows, workflow_path("scene_generation", "high"), "workflow_api.json")), "workflow_file")
    with TAP.case("root_path naming another directory is root-path-mismatch (an error) when the root came from "
                  "the file"):
        text = make_config(root_path=os.path.dirname(g.workflows), comment="elsewhere")
        ok, problems = problems_of(bus.must("Validate", "s", text))
        check(ok is False and ("error", "root-path-mismatch") in [p[:2] for p in problems],
              "ok=%r %r" % (ok, problems))
        r = bus.call("Deploy", "ss", text, "elsewhere")
        check_eq(r.error, ERR + "InvalidConfig", "Deploy")
        ok, problems = problems_of(bus.must("Validate", "s", make_config(root_path=g.workflows)))
        check(ok is True and "root-path-mismatch" not in [p[1] for p in problems],
              "the same root, absolute: ok=%r %r" % (ok, problems))
        ok, problems = problems_of(bus.must("Validate", "s", make_config()))
        check(ok is True and "root-path-mismatch" not in [p[1] for p in problems],
              "no root_path: ok=%r %r" % (ok, problems))
    g.stop()

    h = ctx.daemon("relative", config_text=make_config(), relative_paths=True)
    with TAP.case("relative --config and --workflows-root: Resolve still answers an absolute workflow_file"):
        h.start()
        data = bus.must("Resolve", "ss", "character_portrait", "low")
        check(os.path.isabs(data[1]), "workflow_file %r is not absolute" % data[1])
        check_eq(os.path.realpath(os.path.join(h.dir, data[1])), os.path.realpath(os.path.join(
            h.workflows, workflow_path("character_portrait", "low"), "workflow_api.json")), "workflow_file")
    h.stop()


# ---- daemon F: the admin group ----

def tests_admin_group(ctx):
    bus = ctx.bus
    with TAP.case("authorisation: a member of --admin-group may Reload, Deploy and Rollback"):
        needs_root(ctx)
        try:
            gid = grp.getgrnam(TEST_ADMIN_GROUP).gr_gid
        except KeyError:
            p = subprocess.run(["groupadd", "--system", TEST_ADMIN_GROUP], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True)
            if p.returncode != 0:
                raise Skip("groupadd failed: " + p.stdout.strip())
            gid = grp.getgrnam(TEST_ADMIN_GROUP).gr_gid
        ctx.created_group = True
        f = ctx.daemon("admin", config_text=make_config(comment="admin"), admin_group=TEST_ADMIN_GROUP)
        f.start()
        try:
            r = bus.call("Reload", user=NOBODY, groups=[gid])
            check(r.ok and r.data == [1], "Reload: " + r.describe())
            r = bus.call("Deploy", "ss", make_config(comment="by an admin", steps_bump=3), "admin", user=NOBODY,
                         groups=[gid])
            check(r.ok and r.data == [2], "Deploy: " + r.describe())
            check_eq(file_mode(f.config_path), 0o644, "config file mode")
            r = bus.call("Rollback", "t", 0, user=NOBODY, groups=[gid])
            check(r.ok and r.data == [3], "Rollback: " + r.describe())
            lmark = f.log_mark()
            r = bus.call("Deploy", "ss", make_config(comment="not an admin"), "x", user=NOBODY)
            check_eq(r.error, ACCESS_DENIED, "Deploy without the group")
            check(f.events_since(lmark, ctx.ids["UNAUTHORIZED_CALL"]), "no UNAUTHORIZED_CALL event")
            r = bus.call("Deploy", "ss", make_config(comment="other group"), "x", user=NOBODY, groups=[gid + 1])
            check_eq(r.error, ACCESS_DENIED, "Deploy with another group")
        finally:
            f.stop()


def tests_final(ctx):
    with TAP.case("every daemon exited 0 on SIGTERM"):
        check(not Daemon.exit_problems, "\n".join(Daemon.exit_problems))
    with TAP.case("no sanitizer report in any daemon's stderr"):
        found = []
        for name, path in Daemon.all_logs:
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    i = text.index(marker)
                    found.append("%s (%s): %s" % (name, path, text[max(0, i - 200):i + 1500]))
                    break
        check(not found, "\n".join(found))


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: %s PATH-TO-auteur-qualityd SOURCE-ROOT\n" % sys.argv[0])
        return 2
    for tool in ("dbus-daemon", "busctl"):
        if not shutil.which(tool):
            print("1..0 # SKIP %s is not installed" % tool)
            return int(os.environ.get("TAP_SKIP_EXIT_STATUS", "77"))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    started = time.monotonic()
    ctx = Context(sys.argv[1], sys.argv[2])
    try:
        for group in (tests_shared, tests_apply, tests_workflows, tests_unwritable, tests_lifecycle,
                      tests_hostile_files, tests_roots, tests_admin_group):
            try:
                group(ctx)
            except Exception as e:
                TAP.result(False, "%s: setup" % group.__name__, "".join(traceback.format_exception(
                    type(e), e, e.__traceback__)))
            for d in ctx.daemons:
                if d.alive():
                    d.stop()
        tests_final(ctx)
    finally:
        ctx.close()
    TAP.diag("wall time %.1f s" % (time.monotonic() - started))
    return TAP.finish()


if __name__ == "__main__":
    sys.exit(main())
