#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Integration test of how auteur-qualityd applies configuration, on a private system bus, with TAP output.

Usage: test-daemon-apply.py PATH-TO-auteur-qualityd SOURCE-ROOT

Reload, Deploy and Rollback with their signals, notifications and log events; ConfigChangedOnDisk;
generations, their retention and the start-up fallback to the last one; workflows that vanish and
return; directories that cannot be written; hostile files at the config path. Each group of checks
starts a daemon in a fresh temporary directory (config file, workflows copied from etc/workflows, state
directory, notify socket, stderr log); qualityd_harness.py beside this file has the machinery.
test-daemon-api.py tests the answers, test-daemon-lifecycle.py the process and its callers.

Run as root for every check; without root, those that need it (setpriv, unshare, groupadd) are skipped.
Set QUALITY_TEST_KEEP_TMP=1 to keep the temporary directory.

Exit status: 0 when every check passed, 1 otherwise, 77 when dbus-daemon or busctl is missing (with
"1..0 # SKIP ..."; $TAP_SKIP_EXIT_STATUS replaces the 77, since a TAP harness such as meson's counts any
non-zero status as an error).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from qualityd_harness import *  # noqa: E402,F401,F403 (the harness's names are the test's vocabulary)


# ---- Reload, Deploy, Rollback, signals, notify order, the config file on disk ----

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


# ---- workflows vanish and return (--check-interval 1) ----

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


# ---- the config directory cannot be written ----

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


# ---- no configuration, then Deploy, retention, restarts ----

def tests_generations(ctx):
    bus = ctx.bus
    broken = "environment: itest\nquality_system: a: b\n"
    e = ctx.daemon("generations", config_text=broken, keep_generations=50)

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


# ---- hostile files at the config path ----

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


if __name__ == "__main__":
    sys.exit(run([tests_apply, tests_workflows, tests_unwritable, tests_generations, tests_hostile_files]))
