#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""With auteur-qualityd at --check-interval 1, /api/v1/quality/ready and the health body flip within two
seconds of a workflow file vanishing and returning, carried by the daemon's PropertiesChanged signal into
the shim's cache, while /health stays 200 throughout (SPEC section 4)."""

import os
import time

import httpd_harness

FLIP_LIMIT = 2.0
POLL = 0.05
WORKFLOW = "library/image_generation/scene_generation/high_v1/workflow_api.json"


def watch(h, tap, want_ready, what):
    """Polls /ready and /health until /ready is 200 (want_ready) or 503; returns seconds taken, or None.
    Every /health answer on the way must be 200."""
    start = time.monotonic()
    health_codes = set()
    while time.monotonic() - start < FLIP_LIMIT + 3:
        ready = h.get("/api/v1/quality/ready")
        health = h.get("/health")
        health_codes.add(health.status)
        want_status = "healthy" if want_ready else "degraded"
        if (ready.status == 200) == want_ready and health.json().get("status") == want_status:
            elapsed = time.monotonic() - start
            tap.ok(health_codes == {200}, f"/health stays 200 while the workflow {what}", health_codes)
            return elapsed, ready, health
        time.sleep(POLL)
    tap.ok(False, f"/health stays 200 while the workflow {what}", health_codes)
    return None, None, None


def run(h, tap):
    h.start_bus()
    h.start_daemon(check_interval=1)
    h.start_shim()
    path = os.path.join(h.workflows, WORKFLOW)
    hidden = os.path.join(h.dir, "hidden.json")

    tap.ok(h.get("/api/v1/quality/ready").status == 200, "/ready is 200 with every workflow present")
    tap.ok(h.get("/health").json().get("status") == "healthy", "the health body says healthy")

    for round_ in (1, 2):
        os.rename(path, hidden)
        elapsed, ready, health = watch(h, tap, False, "is missing")
        tap.ok(elapsed is not None and elapsed <= FLIP_LIMIT,
               f"round {round_}: /ready is 503 and the health body degraded within {FLIP_LIMIT} s of the "
               f"workflow vanishing ({elapsed if elapsed is None else round(elapsed, 2)} s)")
        if ready:
            tap.ok(ready.json().get("status") == "not_ready" and ready.json().get("health") == "degraded",
                   f"round {round_}: the /ready body says not_ready, degraded", ready.body)
            body = health.json()
            tap.ok(body.get("workflows_missing") == 1 and "workflows" in body.get("failed_checks", []),
                   f"round {round_}: the health body names the failed check", body)
        r = h.get("/api/v1/quality/render/scene_generation/high")
        tap.ok(r.status == 503, f"round {round_}: /render of the missing workflow is 503", r)

        os.rename(hidden, path)
        elapsed, ready, health = watch(h, tap, True, "returns")
        tap.ok(elapsed is not None and elapsed <= FLIP_LIMIT,
               f"round {round_}: /ready is 200 and the health body healthy within {FLIP_LIMIT} s of the "
               f"workflow returning ({elapsed if elapsed is None else round(elapsed, 2)} s)")
        tap.ok(h.get("/api/v1/quality/render/scene_generation/high").status == 200,
               f"round {round_}: /render of the returned workflow is 200")

    status, clean = h.stop_shim()
    tap.ok(status == 0 and clean, "the shim exits 0 on SIGTERM without sanitizer reports",
           h.shim_output().decode(errors="replace")[-3000:])


if __name__ == "__main__":
    httpd_harness.main(run)
