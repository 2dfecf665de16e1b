# SPDX-License-Identifier: LGPL-2.1-or-later
# The scenarios of the system tests, sourced by "run", which runs them in its order: each a function that
# returns 0, or 1 after "fail REASON". Before them, the ways they talk to the product in the container.
# shellcheck shell=bash

# ---------------------------------------------------------------------------------------------------------
# The product's bus, its units and its journal.

bus() {
        ct busctl --json=short --timeout=20 "$@"
}

# call METHOD [SIGNATURE ARGS...]: calls a method as root; the reply's JSON in $out.
call() {
        local method=$1
        shift
        run bus call "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" "$method" "$@"
}

# prop NAME: prints the property's value.
prop() {
        ct busctl --timeout=20 get-property "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE" "$1" |
                sed 's/^[a-z]* //; s/^"//; s/"$//'
}

# dsend [AS_UID [GROUP...]] -- METHOD ARGS...: calls through dbus-send, whose errors carry the D-Bus error
# name ("Error org.freedesktop.DBus.Error.AccessDenied: ..."); result in $out, $err, $rc.
dsend() {
        local who=()
        while [ "$1" != -- ]; do
                who+=("$1")
                shift
        done
        shift
        local method=$1
        shift
        local cmd=(dbus-send --system --print-reply --reply-timeout=20000 --dest="$BUS_NAME" "$BUS_PATH"
                   "$BUS_IFACE.$method" "$@")
        if [ ${#who[@]} -eq 0 ]; then
                run ct "${cmd[@]}"
        else
                run ct_as "${who[@]}" -- "${cmd[@]}"
        fi
}

unit_prop() {
        ct systemctl show -P "$2" "$1"
}

# unit_usec UNIT PROPERTY: a time property of a unit in microseconds.
unit_usec() {
        local path
        path=$(ct busctl --timeout=20 call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
               org.freedesktop.systemd1.Manager GetUnit s "$1" | sed 's/^o "\(.*\)"$/\1/')
        ct busctl --timeout=20 get-property org.freedesktop.systemd1 "$path" \
                org.freedesktop.systemd1.Service "$2" | sed -n 's/^t \([0-9]*\)$/\1/p'
}

unit_active() {
        [ "$(unit_prop "$1" ActiveState)" = active ]
}

unit_loaded() {
        [ "$(unit_prop "$1" LoadState)" = loaded ]
}

# The steps of a task type's tier, as Resolve answers them.
resolved_steps() {
        call Resolve ss "$1" "$2" || return 1
        jq -er '.data[2].steps.data' <<<"$out"
}

journal_json() {
        ct journalctl -b 0 -u "$UNIT" -o json --no-pager "$@"
}

# ---------------------------------------------------------------------------------------------------------
# Fixtures, made on the host from the staged production environment.

production=$stage/etc/auteur/environments/production.yaml
# The production environment with character_portrait/high at STEPS steps.
production_with_steps() {
        awk -v steps="$1" '
                /^    character_portrait:/ { in_cp = 1 }
                /^    scene_generation:/ { in_cp = 0 }
                in_cp && /^      high:/ { in_high = 1 }
                in_high && /steps:/ && !done { sub(/steps: [0-9]+/, "steps: " steps); done = 1 }
                { print }' "$production"
}

broken_config() {
        sed 's/^  mappings:/  mapings:/' "$production"
}

# ---------------------------------------------------------------------------------------------------------
# Scenarios. Each returns 0, or 1 after "fail REASON".

scn_boot() {
        prepare_tree || return 1
        # Without a booted container every later scenario would wait out its timeouts.
        boot_container || { stop_container; return 1; }
}

verify_unit() {
        local unit=$1
        unit_loaded "$unit" ||
                { fail "$unit is not installed (LoadState=$(unit_prop "$unit" LoadState))"; return 1; }
        # Documentation= pages are checked where man is installed.
        local man=no
        ! ct sh -c 'command -v man' >/dev/null || man=yes
        run ct systemd-analyze verify --man="$man" "$unit"
        [ "$rc" -eq 0 ] || { fail "systemd-analyze verify $unit exited with status $rc"; return 1; }
        # Warnings about our own unit count too; other units' do not.
        local ours
        ours=$(grep -F "${unit%.*}" <<<"$err$out")
        [ -z "$ours" ] || { fail "systemd-analyze verify $unit complains: $ours"; return 1; }
}
scn_verify_daemon() { verify_unit "$UNIT"; }
scn_verify_http_socket() { verify_unit "$HTTP_SOCKET"; }
scn_verify_http_service() { verify_unit "$HTTP_SERVICE"; }

scn_install_start() {
        run ct sh -ec "
                mkdir -p $WORKFLOWS
                cp -a /usr/share/auteur-quality/workflows/library $WORKFLOWS/
                install -m 0644 /etc/auteur/environments/production.yaml $CONFIG
                systemd-sysusers auteur-quality.conf
                systemd-tmpfiles --create auteur-quality.conf
                journalctl --update-catalog
                systemctl reload dbus.service
                systemctl daemon-reload"
        [ "$rc" -eq 0 ] || { fail "installing users, files and the sample library failed"; return 1; }

        local who
        for who in passwd:auteur-quality passwd:auteur-quality-http group:auteur-quality-admin; do
                ct getent "${who%%:*}" "${who#*:}" >/dev/null ||
                        { fail "systemd-sysusers did not create ${who%%:*} entry ${who#*:}"; return 1; }
        done
        run ct stat -c '%U:%G %a' /etc/auteur
        [ "$out" = "root:auteur-quality 775" ] ||
                { fail "/etc/auteur is '$out', not root:auteur-quality 775"; return 1; }

        run ct -t 60 systemctl start "$UNIT"
        [ "$rc" -eq 0 ] || { fail "systemctl start $UNIT failed"; return 1; }
        [ "$(unit_prop "$UNIT" ActiveState)" = active ] || { fail "$UNIT is not active"; return 1; }
        local status
        status=$(unit_prop "$UNIT" StatusText)
        [ -n "$status" ] || { fail "$UNIT has no StatusText"; return 1; }
        grep -q production <<<"$status" && grep -q healthy <<<"$status" ||
                { fail "StatusText '$status' names not both production and healthy"; return 1; }
        [ "$(prop Status)" = healthy ] || { fail "Status is '$(prop Status)', not healthy"; return 1; }
        [ "$(prop Generation)" = 1 ] || { fail "Generation is '$(prop Generation)', not 1"; return 1; }

        # busctl introspect shows every member of the installed introspection file.
        run ct busctl --timeout=20 introspect "$BUS_NAME" "$BUS_PATH" "$BUS_IFACE"
        [ "$rc" -eq 0 ] || { fail "busctl introspect failed"; return 1; }
        local member missing=
        for member in $(ct cat /usr/share/dbus-1/interfaces/$BUS_IFACE.xml |
                        sed -n 's/.*<\(method\|property\|signal\) name="\([A-Za-z0-9_]*\)".*/\2/p'); do
                grep -q "^\.$member " <<<"$out" || missing+=" $member"
        done
        [ -z "$missing" ] || { fail "busctl introspect lacks:$missing"; return 1; }
        grep -q '^\.Resolve ' <<<"$out" || { fail "busctl introspect shows no Resolve method"; return 1; }
}

scn_resolve() {
        call Resolve ss character_portrait high
        [ "$rc" -eq 0 ] || { fail "Resolve character_portrait high failed"; return 1; }
        jq -e --arg root "$WORKFLOWS" --arg path library/image_generation/character_portrait/high_v1 '
                .type == "ssa{sv}" and
                .data[0] == $path and
                .data[1] == ($root + "/" + $path + "/workflow_api.json") and
                .data[2].steps == {"type": "x", "data": 60} and
                .data[2].cfg_scale == {"type": "d", "data": 8} and
                .data[2].sampler_name == {"type": "s", "data": "dpmpp_2m_sde"}' <<<"$out" >/dev/null ||
                { fail "Resolve answered other than production's character_portrait/high"; return 1; }
        dsend -- Resolve string:no_such_task string:high
        grep -q "org.auteur.QualityTier.Error.NoSuchTaskType" <<<"$err" ||
                { fail "Resolve of an unknown task type did not answer NoSuchTaskType"; return 1; }
        dsend -- Resolve string:character_portrait string:ultra
        grep -q "org.auteur.QualityTier.Error.NoSuchTier" <<<"$err" ||
                { fail "Resolve of an unknown tier did not answer NoSuchTier"; return 1; }
}

scn_reads() {
        call ListTaskTypes
        jq -e '.data[0] | sort == ["character_portrait", "scene_generation"]' <<<"$out" >/dev/null ||
                { fail "ListTaskTypes did not answer character_portrait and scene_generation"; return 1; }
        call ListTiers s scene_generation
        jq -e '[.data[0][][0]] == ["low", "standard", "high"]' <<<"$out" >/dev/null ||
                { fail "ListTiers scene_generation did not answer low, standard, high"; return 1; }
        call DescribeTaskType s character_portrait
        jq -e '.data[0] | fromjson | .task_type == "character_portrait" and
                (.available_tiers | keys | sort == ["high", "low", "standard"])' <<<"$out" >/dev/null ||
                { fail "DescribeTaskType character_portrait answered unexpected JSON"; return 1; }
        call Render ss character_portrait low
        jq -e '.data[0] | fromjson | .prompt | [.[] | select(.class_type == "KSampler") | .inputs.steps] |
                length > 0 and all(. == 20)' <<<"$out" >/dev/null ||
                { fail "Render character_portrait low has no KSampler with steps 20"; return 1; }
        call GetMetrics
        jq -er '.data[0]' <<<"$out" | grep -q '^quality_config_generation 1$' ||
                { fail "GetMetrics lacks 'quality_config_generation 1'"; return 1; }
}

scn_health() {
        call Health
        [ "$rc" -eq 0 ] || { fail "Health failed"; return 1; }
        jq -e '.data[0] == "healthy" and (.data[1] | fromjson |
                .status == "healthy" and has("timestamp") and has("failed_checks") and
                (.checks | has("configuration") and has("workflows") and has("permissions")))' <<<"$out" \
                >/dev/null || { fail "Health did not answer healthy with the probes' JSON shape"; return 1; }
}

scn_validate_good() {
        call Validate s "$(cat "$production")"
        [ "$rc" -eq 0 ] || { fail "Validate failed"; return 1; }
        jq -e '.data[0] == true and ([.data[1][] | select(.[0] == "error")] | length == 0)' <<<"$out" \
                >/dev/null || { fail "Validate of the production environment did not answer ok"; return 1; }
        call Validate s ""
        jq -e '.data[0] == true' <<<"$out" >/dev/null ||
                { fail "Validate \"\" of $CONFIG did not answer ok"; return 1; }
}

scn_validate_broken() {
        call Validate s "$(broken_config)"
        [ "$rc" -eq 0 ] || { fail "Validate failed"; return 1; }
        jq -e '.data[0] == false and
                any(.data[1][]; .[0] == "error" and .[1] == "unknown-key" and (.[4] | test("mappings")))' \
                <<<"$out" >/dev/null ||
                        { fail "Validate of a misspelt key did not answer an unknown-key error"; return 1; }
        call Validate s "mappings: [unclosed"
        jq -e '.data[0] == false and any(.data[1][]; .[1] == "yaml-syntax")' <<<"$out" >/dev/null ||
                { fail "Validate of broken YAML did not answer yaml-syntax"; return 1; }
}

scn_deploy() {
        local g0 g text
        g0=$(prop Generation)
        text=$(production_with_steps 61)
        call Deploy ss "$text" system-test
        [ "$rc" -eq 0 ] || { fail "Deploy failed"; return 1; }
        g=$(jq -r '.data[0]' <<<"$out")
        [ "$g" = $((g0 + 1)) ] || { fail "Deploy answered generation $g, not $((g0 + 1))"; return 1; }
        [ "$(prop Generation)" = "$g" ] || { fail "Generation is '$(prop Generation)', not $g"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 61 ] ||
                { fail "Resolve does not answer the deployed steps 61"; return 1; }
        [ "$(ct cat "$CONFIG")" = "$text" ] || { fail "$CONFIG does not hold the deployed text"; return 1; }
        [ "$(ct stat -c %a "$CONFIG")" = 644 ] ||
                { fail "$CONFIG has mode $(ct stat -c %a "$CONFIG"), not 644"; return 1; }
        call ListGenerations
        jq -e --argjson g "$g" \
                '.data[0] | last | .[0] == $g and .[3] == "system-test" and .[4] == "production"' <<<"$out" \
                >/dev/null || { fail "ListGenerations does not end with $g from system-test"; return 1; }

        # The same content again makes no generation.
        call Deploy ss "$text" system-test-again
        [ "$(jq -r '.data[0]' <<<"$out")" = "$g" ] ||
                { fail "Deploying identical content made a new generation"; return 1; }

        # A broken one changes nothing, on disk or in memory.
        dsend -- Deploy "string:$(broken_config)" string:system-test-broken
        grep -q "org.auteur.QualityTier.Error.InvalidConfig" <<<"$err" ||
                { fail "Deploy of a broken config did not answer InvalidConfig"; return 1; }
        [ "$(prop Generation)" = "$g" ] || { fail "a rejected Deploy changed the generation"; return 1; }
        [ "$(ct cat "$CONFIG")" = "$text" ] || { fail "a rejected Deploy changed $CONFIG"; return 1; }
}

config_changed_on_disk_is() {
        [ "$(prop ConfigChangedOnDisk)" = "$1" ]
}

scn_reload_broken() {
        local g0
        g0=$(prop Generation)
        ct cat "$CONFIG" >"$work/deployed" || { fail "cannot read $CONFIG"; return 1; }
        broken_config | ct_write "$CONFIG" || { fail "cannot write $CONFIG"; return 1; }
        wait_for 5 config_changed_on_disk_is true ||
                { fail "ConfigChangedOnDisk did not become true within 5 s of editing $CONFIG"; return 1; }
        run ct -t 60 systemctl reload "$UNIT"
        [ "$rc" -ne 0 ] || { fail "systemctl reload succeeded with a broken $CONFIG"; return 1; }
        [ "$(unit_prop "$UNIT" ActiveState)" = active ] ||
                { fail "$UNIT is not active after the failed reload"; return 1; }
        [ "$(prop Generation)" = "$g0" ] || { fail "the failed reload changed the generation"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 61 ] ||
                { fail "Resolve no longer answers generation $g0's steps 61"; return 1; }
        [ "$(prop Status)" = healthy ] ||
                { fail "Status is '$(prop Status)' after a rejected reload"; return 1; }
        dsend -- Reload
        grep -q "org.auteur.QualityTier.Error.InvalidConfig" <<<"$err" ||
                { fail "Reload of a broken file did not answer InvalidConfig"; return 1; }

        ct_write "$CONFIG" <"$work/deployed"
        wait_for 5 config_changed_on_disk_is false ||
                { fail "ConfigChangedOnDisk did not return to false once $CONFIG was restored"; return 1; }
}

scn_reload_good() {
        local g0
        g0=$(prop Generation)
        production_with_steps 62 | ct_write "$CONFIG"
        run ct -t 60 systemctl reload "$UNIT"
        [ "$rc" -eq 0 ] || { fail "systemctl reload of a valid edited file failed"; return 1; }
        [ "$(prop Generation)" = $((g0 + 1)) ] ||
                { fail "reload did not make generation $((g0 + 1))"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 62 ] ||
                { fail "Resolve does not answer the reloaded steps 62"; return 1; }
        [ "$(prop ConfigChangedOnDisk)" = false ] ||
                { fail "ConfigChangedOnDisk is true after the reload"; return 1; }
}

scn_rollback() {
        local g0 g
        g0=$(prop Generation)
        call Rollback t 0
        [ "$rc" -eq 0 ] || { fail "Rollback 0 failed"; return 1; }
        g=$(jq -r '.data[0]' <<<"$out")
        [ "$g" = $((g0 + 1)) ] || { fail "Rollback answered generation $g, not $((g0 + 1))"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 61 ] ||
                { fail "after the rollback Resolve does not answer the steps 61 of $((g0 - 1))"; return 1; }
        [ "$(ct cat "$CONFIG")" = "$(production_with_steps 61)" ] ||
                { fail "$CONFIG does not hold generation $((g0 - 1))'s text after the rollback"; return 1; }
        call ListGenerations
        jq -e --argjson g "$g" --arg origin "rollback:$((g0 - 1))" \
                '.data[0] | last | .[0] == $g and .[3] == $origin' <<<"$out" >/dev/null ||
                { fail "the newest generation is not $g with origin rollback:$((g0 - 1))"; return 1; }
        dsend -- Rollback uint64:999999
        grep -q "org.auteur.QualityTier.Error.NoSuchGeneration" <<<"$err" ||
                { fail "Rollback to an unknown generation did not answer NoSuchGeneration"; return 1; }
}

unauthorized_logged() {
        journal_json MESSAGE_ID="$(msgid UNAUTHORIZED_CALL)" | jq -e --arg uid "$NOBODY" -s \
                'any(.[]; .QUALITY_CALLER_UID == $uid)' >/dev/null
}

scn_nobody_refused() {
        local g0 method
        g0=$(prop Generation)
        for method in Reload Deploy Rollback; do
                case $method in
                Reload) dsend "$NOBODY" -- Reload ;;
                Deploy) dsend "$NOBODY" -- Deploy "string:$(production_with_steps 70)" string:nobody ;;
                Rollback) dsend "$NOBODY" -- Rollback uint64:0 ;;
                esac
                grep -q "org.freedesktop.DBus.Error.AccessDenied" <<<"$err" ||
                        { fail "$method as nobody did not answer AccessDenied"; return 1; }
        done
        [ "$(prop Generation)" = "$g0" ] || { fail "a refused call changed the generation"; return 1; }
        wait_for 5 unauthorized_logged ||
                { fail "no journal entry for the refusal with QUALITY_CALLER_UID=$NOBODY"; return 1; }
}

scn_nobody_reads() {
        dsend "$NOBODY" -- Health
        [ "$rc" -eq 0 ] || { fail "Health as nobody failed"; return 1; }
        dsend "$NOBODY" -- Resolve string:scene_generation string:low
        [ "$rc" -eq 0 ] && grep -q scene_generation/low_v1 <<<"$out" ||
                { fail "Resolve as nobody failed"; return 1; }
        dsend "$NOBODY" -- Validate "string:$(cat "$production")"
        [ "$rc" -eq 0 ] && grep -q "boolean true" <<<"$out" ||
                { fail "Validate as nobody failed"; return 1; }
}

scn_admin_allowed() {
        local gid g0
        gid=$(ct getent group auteur-quality-admin | cut -d: -f3)
        [ -n "$gid" ] || { fail "group auteur-quality-admin does not exist"; return 1; }
        g0=$(prop Generation)
        dsend "$NOBODY" "$gid" -- Reload
        [ "$rc" -eq 0 ] || { fail "Reload by a member of auteur-quality-admin was refused"; return 1; }
        dsend "$NOBODY" "$gid" -- Deploy "string:$(production_with_steps 63)" string:admin-group
        [ "$rc" -eq 0 ] || { fail "Deploy by a member of auteur-quality-admin was refused"; return 1; }
        [ "$(prop Generation)" = $((g0 + 1)) ] ||
                { fail "Deploy by an admin did not make generation $((g0 + 1))"; return 1; }
        dsend "$NOBODY" "$gid" -- Rollback uint64:0
        [ "$rc" -eq 0 ] || { fail "Rollback by a member of auteur-quality-admin was refused"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 61 ] ||
                { fail "the admin's rollback did not restore steps 61"; return 1; }
}

status_is() {
        call Health >/dev/null
        [ "$(prop Status)" = "$1" ]
}

scn_workflow_missing() {
        local dir=$WORKFLOWS/library/image_generation/scene_generation/high_v1
        ct mv "$dir" "$dir.away" || { fail "cannot move $dir away"; return 1; }
        if ! wait_for 10 status_is degraded && ! status_is unhealthy; then
                ct mv "$dir.away" "$dir"
                fail "Status is '$(prop Status)', not degraded or unhealthy, with a workflow missing"
                return 1
        fi
        call Resolve ss scene_generation high
        local resolve_rc=$rc
        dsend -- Render string:scene_generation string:high
        local render_err=$err
        call GetMetrics
        local metrics=$out
        ct mv "$dir.away" "$dir"
        [ "$resolve_rc" -eq 0 ] || { fail "Resolve stopped answering for a missing workflow"; return 1; }
        grep -q "org.auteur.QualityTier.Error.NotReady" <<<"$render_err" ||
                { fail "Render of a missing workflow did not answer NotReady"; return 1; }
        jq -er '.data[0]' <<<"$metrics" | grep -Eq '^quality_workflow_missing_total [1-9]' ||
                { fail "quality_workflow_missing_total did not grow"; return 1; }
        wait_for 10 status_is healthy ||
                { fail "Status did not return to healthy once the workflow was back"; return 1; }
}

scn_ctl_host() {
        local ctl=$stage/usr/bin/auteur-qualityctl verb
        local address=unix:path=/proc/$ct_pid1/root/run/dbus/system_bus_socket
        for verb in status health; do
                run env DBUS_SYSTEM_BUS_ADDRESS="$address" timeout 30 "$ctl" "$verb"
                [ "$rc" -eq 0 ] ||
                        { fail "auteur-qualityctl $verb on the host exited with status $rc"; return 1; }
        done
        run env DBUS_SYSTEM_BUS_ADDRESS="$address" timeout 30 "$ctl" status
        local g
        g=$(prop Generation)
        grep -q production <<<"$out" && grep -qw "$g" <<<"$out" ||
                { fail "auteur-qualityctl status shows not both production and generation $g"; return 1; }
        run env DBUS_SYSTEM_BUS_ADDRESS="$address" timeout 30 "$ctl" health
        grep -q healthy <<<"$out" || { fail "auteur-qualityctl health does not say healthy"; return 1; }
        run env DBUS_SYSTEM_BUS_ADDRESS="$address" timeout 30 "$ctl" --json status
        [ "$rc" -eq 0 ] && jq -e . <<<"$out" >/dev/null ||
                { fail "auteur-qualityctl --json status is not JSON"; return 1; }
}

# The HTTP shim ------------------------------------------------------------------------------------------

http_installed() {
        local what
        for what in "$HTTPD" /usr/lib/systemd/system/$HTTP_SOCKET /usr/lib/systemd/system/$HTTP_SERVICE; do
                ct test -e "$what" || { fail "$what is not installed: the HTTP shim is missing"; return 1; }
        done
}

# http METHOD PATH: the status in $http_status, the body in $http_body, the headers in $http_headers.
http() {
        local request=(-X "$1")
        # "-X HEAD" would wait for a body that never comes.
        [ "$1" != HEAD ] || request=(-I)
        run ct curl -sS "${request[@]}" --max-time 10 -D /dev/stderr -o /dev/stdout -w '\n%{http_code}' \
                "http://127.0.0.1:8000$2"
        http_status=${out##*$'\n'}
        http_body=${out%$'\n'*}
        http_headers=$err
}

expect_http() {
        local method=$1 path=$2 status=$3
        http "$method" "$path"
        [ "$http_status" = "$status" ] ||
                { fail "$method $path answered $http_status, not $status"; return 1; }
}

scn_http_socket() {
        http_installed || return 1
        run ct systemctl start "$HTTP_SOCKET"
        [ "$rc" -eq 0 ] || { fail "systemctl start $HTTP_SOCKET failed"; return 1; }
        [ "$(unit_prop "$HTTP_SOCKET" Listen)" != "" ] ||
                { fail "$HTTP_SOCKET listens on nothing"; return 1; }
        expect_http GET /health 200 || return 1
        jq -e '.status == "healthy" and has("checks")' <<<"$http_body" >/dev/null ||
                { fail "GET /health did not carry the health JSON"; return 1; }
        [ "$(unit_prop "$HTTP_SERVICE" ActiveState)" = active ] ||
                { fail "the first request did not start $HTTP_SERVICE"; return 1; }
        expect_http HEAD /health 200 || return 1
        expect_http GET /api/v1/quality/health 200 || return 1
        expect_http GET /api/v1/quality/ready 200 || return 1
        jq -e '.status == "ready"' <<<"$http_body" >/dev/null ||
                { fail "/api/v1/quality/ready is not ready"; return 1; }
        expect_http GET /api/v1/quality/version 200 || return 1
        jq -e '.system == "quality-tier-system" and .supported_tiers == ["low", "standard", "high"]' \
                <<<"$http_body" >/dev/null ||
                        { fail "/api/v1/quality/version answered unexpected JSON"; return 1; }
        expect_http GET /api/v1/quality/tiers/character_portrait 200 || return 1
        jq -e '.task_type == "character_portrait"' <<<"$http_body" >/dev/null ||
                { fail "/api/v1/quality/tiers/character_portrait answered unexpected JSON"; return 1; }
        expect_http GET /api/v1/quality/tiers/no_such_task 404 || return 1
        expect_http GET /api/v1/quality/render/character_portrait/high 200 || return 1
        jq -e '.prompt | type == "object"' <<<"$http_body" >/dev/null ||
                { fail "/render answered no prompt"; return 1; }
        expect_http GET /api/v1/quality/render/no_such_task/high 404 || return 1
        expect_http GET /metrics 200 || return 1
        local metric
        for metric in quality_config_last_modified quality_config_valid quality_config_generation \
                      quality_workflow_missing_total quality_tier_selection_total quality_reload_total \
                      quality_mappings quality_health_status; do
                grep -q "^$metric" <<<"$http_body" || { fail "/metrics lacks $metric"; return 1; }
        done
        expect_http POST /health 405 || return 1
        grep -qi '^allow:' <<<"$http_headers" || { fail "the 405 answer has no Allow header"; return 1; }
        expect_http GET /no/such/path 404 || return 1
}

scn_http_sandbox() {
        http_installed || return 1
        [ "$(unit_prop "$HTTP_SERVICE" ActiveState)" = active ] || expect_http GET /health 200 || return 1
        local pid uid want netns pid1_netns ifaces
        pid=$(unit_prop "$HTTP_SERVICE" MainPID)
        [ -n "$pid" ] && [ "$pid" != 0 ] || { fail "$HTTP_SERVICE has no main process"; return 1; }
        uid=$(ct awk '/^Uid:/ { print $3 }' "/proc/$pid/status")
        want=$(ct id -u auteur-quality-http)
        [ -n "$want" ] && [ "$uid" = "$want" ] ||
                { fail "the shim runs as uid '$uid', not auteur-quality-http ($want)"; return 1; }
        netns=$(ct readlink "/proc/$pid/ns/net")
        pid1_netns=$(ct readlink /proc/1/ns/net)
        [ -n "$netns" ] && [ "$netns" != "$pid1_netns" ] ||
                { fail "the shim shares the container's network namespace"; return 1; }
        ifaces=$(ct awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' "/proc/$pid/net/dev" | tr '\n' ' ')
        [ "$ifaces" = "lo " ] ||
                { fail "the shim's network namespace has interfaces '$ifaces', not only lo"; return 1; }
        local caps
        caps=$(ct awk '/^Cap(Eff|Prm|Bnd|Amb):/ { print $2 }' "/proc/$pid/status" | sort -u)
        [ "$caps" = 0000000000000000 ] || { fail "the shim holds capabilities: $caps"; return 1; }
        [ "$(unit_prop "$HTTP_SOCKET" PrivateNetwork)" = no ] ||
                { fail "$HTTP_SOCKET has PrivateNetwork=yes: it would listen in a namespace"; return 1; }
}

http_service_inactive() {
        [ "$(unit_prop "$HTTP_SERVICE" ActiveState)" = inactive ]
}

scn_http_exit_idle() {
        http_installed || return 1
        local exec idle
        exec=$(ct systemctl cat "$HTTP_SERVICE" | sed -n 's/^ExecStart=//p' | tail -n 1)
        idle=$(sed -n 's/.*--exit-idle-time[= ]\([^ ]*\).*/\1/p' <<<"$exec")
        case $idle in
        "" | 0 | 0s)
                fail "$HTTP_SERVICE sets no --exit-idle-time: the shim never exits when idle"
                return 1
                ;;
        esac
        if ! [[ $idle =~ ^[0-9]+s?$ ]] || [ "${idle%s}" -gt "$HTTP_IDLE_MAX" ]; then
                # The same command line with a shorter idle time appended: the last option wins.
                note "$HTTP_SERVICE exits after $idle idle; the test shortens that to 3 s"
                idle=3
                printf '[Service]\nExecStart=\nExecStart=%s --exit-idle-time %s\n' "$exec" "$idle" |
                        ct sh -c "mkdir -p /run/systemd/system/$HTTP_SERVICE.d &&
                                  cat >/run/systemd/system/$HTTP_SERVICE.d/50-exit-idle.conf &&
                                  systemctl daemon-reload"
                ct systemctl stop "$HTTP_SERVICE" 2>/dev/null
        fi
        idle=${idle%s}
        expect_http GET /health 200 || return 1
        local pid
        pid=$(unit_prop "$HTTP_SERVICE" MainPID)
        wait_for $((idle + 10)) http_service_inactive ||
                { fail "$HTTP_SERVICE did not exit within $((idle + 10)) s of idleness"; return 1; }
        [ "$(unit_prop "$HTTP_SOCKET" ActiveState)" = active ] ||
                { fail "$HTTP_SOCKET is not listening any more"; return 1; }
        [ "$(unit_prop "$HTTP_SERVICE" Result)" = success ] ||
                { fail "$HTTP_SERVICE ended with result $(unit_prop "$HTTP_SERVICE" Result)"; return 1; }
        expect_http GET /health 200 || return 1
        [ "$(unit_prop "$HTTP_SERVICE" MainPID)" != "$pid" ] ||
                { fail "the next request reached the old process"; return 1; }
        ct rm -rf "/run/systemd/system/$HTTP_SERVICE.d"
        ct systemctl daemon-reload
}

# Life cycle ---------------------------------------------------------------------------------------------

scn_bus_activation() {
        run ct -t 60 systemctl stop "$UNIT"
        [ "$(unit_prop "$UNIT" ActiveState)" = inactive ] || { fail "$UNIT did not stop"; return 1; }
        call Health
        [ "$rc" -eq 0 ] || { fail "a call to $BUS_NAME did not activate the daemon"; return 1; }
        [ "$(unit_prop "$UNIT" ActiveState)" = active ] ||
                { fail "$UNIT is not active after the call"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 61 ] ||
                { fail "the activated daemon lost the deployed steps 61"; return 1; }
}

restarted() {
        [ "$(unit_prop "$UNIT" NRestarts)" -gt "$1" ] && [ "$(unit_prop "$UNIT" ActiveState)" = active ] &&
                [ "$(unit_prop "$UNIT" SubState)" = running ]
}

scn_watchdog() {
        local pid n0 g0 watchdog_s restart_s t0 took
        pid=$(unit_prop "$UNIT" MainPID)
        n0=$(unit_prop "$UNIT" NRestarts)
        g0=$(prop Generation)
        watchdog_s=$(unit_usec "$UNIT" WatchdogUSec)
        restart_s=$(unit_usec "$UNIT" RestartUSec)
        [ -n "$watchdog_s" ] && [ -n "$restart_s" ] ||
                { fail "cannot read WatchdogUSec and RestartUSec"; return 1; }
        watchdog_s=$((watchdog_s / 1000000))
        restart_s=$((restart_s / 1000000))
        [ "$watchdog_s" -gt 0 ] || { fail "$UNIT has no watchdog"; return 1; }
        t0=$(date +%s)
        ct kill -STOP "$pid" || { fail "cannot stop process $pid"; return 1; }
        local limit=$((watchdog_s + restart_s + 15))
        wait_for "$limit" restarted "$n0" ||
                { fail "systemd did not restart the stopped daemon within $limit s"; return 1; }
        took=$(($(date +%s) - t0))
        note "restarted $took s after SIGSTOP (WatchdogSec=${watchdog_s}s, RestartSec=${restart_s}s)"
        [ "$(unit_prop "$UNIT" MainPID)" != "$pid" ] || { fail "the main process is still $pid"; return 1; }
        [ "$took" -le $((watchdog_s + restart_s + 5)) ] ||
                { fail "the restart took $took s, more than WatchdogSec + RestartSec + 5 s"; return 1; }
        ct journalctl -b 0 -u "$UNIT" --no-pager | grep -q "Watchdog timeout" ||
                { fail "the journal does not say that the watchdog fired"; return 1; }
        [ "$(prop Generation)" = "$g0" ] ||
                { fail "the restarted daemon serves generation $(prop Generation), not $g0"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 61 ] ||
                { fail "the restarted daemon lost steps 61"; return 1; }
}

scn_restart() {
        local g0 pid
        g0=$(prop Generation)
        pid=$(unit_prop "$UNIT" MainPID)
        run ct -t 60 systemctl restart "$UNIT"
        [ "$rc" -eq 0 ] || { fail "systemctl restart failed"; return 1; }
        [ "$(unit_prop "$UNIT" MainPID)" != "$pid" ] || { fail "the main process did not change"; return 1; }
        [ "$(prop Generation)" = "$g0" ] ||
                { fail "after a restart the generation is $(prop Generation), not $g0"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 61 ] ||
                { fail "after a restart Resolve lost steps 61"; return 1; }
}

exposure() {
        run ct -t 60 systemd-analyze security --no-pager "$1"
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out"
}

check_exposure() {
        local unit=$1 max=$2 level
        unit_loaded "$unit" || { fail "$unit is not installed"; return 1; }
        level=$(exposure "$unit")
        [ -n "$level" ] ||
                { fail "systemd-analyze security printed no overall exposure for $unit"; return 1; }
        note "$unit: exposure $level (at most $max)"
        awk -v l="$level" -v m="$max" 'BEGIN { exit !(l <= m) }' || {
                fail "$unit's exposure is $level, above $max; exposed:" \
                     "$(grep '✗' <<<"$out" | sed 's/  */ /g' | head -n 20)"
                return 1
        }
        out=
}
scn_security_daemon() { check_exposure "$UNIT" "$DAEMON_EXPOSURE_MAX"; }
scn_security_http() { http_installed && check_exposure "$HTTP_SERVICE" "$HTTP_EXPOSURE_MAX"; }

# The journal --------------------------------------------------------------------------------------------

# msgid NAME: the MESSAGE_ID of QUALITY_MESSAGE_NAME in src/shared/message-ids.h.
msgid() {
        sed -n "s/^#define QUALITY_MESSAGE_$1 \"\([0-9a-f]\{32\}\)\"$/\1/p" \
                "$source_dir/src/shared/message-ids.h"
}

# Each event of the scenarios above, with the fields its entries always carry.
readonly JOURNAL_EVENTS=(
        "CONFIG_APPLIED QUALITY_GENERATION QUALITY_ENVIRONMENT QUALITY_CONFIG_PATH"
        "CONFIG_REJECTED QUALITY_CONFIG_PATH QUALITY_PROBLEM_CODE"
        "ROLLBACK QUALITY_GENERATION QUALITY_CONFIG_PATH"
        "WORKFLOW_MISSING QUALITY_TASK_TYPE QUALITY_TIER QUALITY_WORKFLOW_PATH QUALITY_PROBLEM_CODE"
        "WORKFLOW_RESTORED QUALITY_TASK_TYPE QUALITY_TIER QUALITY_WORKFLOW_PATH"
        "HEALTH_CHANGED"
        "CONFIG_CHANGED_ON_DISK QUALITY_CONFIG_PATH"
        "UNAUTHORIZED_CALL QUALITY_CALLER_UID"
        "DAEMON_STARTED QUALITY_CONFIG_PATH"
        "DAEMON_STOPPING"
)

scn_journal_fields() {
        local entries event name id field fields
        journal_json >"$work/journal.json" || { fail "journalctl -u $UNIT -o json failed"; return 1; }
        for event in "${JOURNAL_EVENTS[@]}"; do
                read -r name fields <<<"$event"
                id=$(msgid "$name")
                [ -n "$id" ] ||
                        { fail "src/shared/message-ids.h defines no QUALITY_MESSAGE_$name"; return 1; }
                entries=$(jq -c --arg id "$id" 'select(.MESSAGE_ID == $id)' "$work/journal.json")
                [ -n "$entries" ] || { fail "the journal has no $name entry (MESSAGE_ID=$id)"; return 1; }
                for field in $fields; do
                        jq -e --arg f "$field" 'has($f) and (.[$f] | type == "string") and .[$f] != ""' \
                                <<<"$entries" | grep -qv true &&
                                { fail "a $name entry lacks $field"; return 1; }
                done
        done
        # The rejected reload names its first error; the misspelt "mappings" makes two.
        jq -e --arg id "$(msgid CONFIG_REJECTED)" -s 'any(.[]; .MESSAGE_ID == $id and
                (.QUALITY_PROBLEM_CODE == "missing-key" or .QUALITY_PROBLEM_CODE == "unknown-key"))' \
                "$work/journal.json" >/dev/null ||
                { fail "no CONFIG_REJECTED entry with code missing-key or unknown-key"; return 1; }
        jq -e --arg id "$(msgid WORKFLOW_MISSING)" -s 'any(.[]; .MESSAGE_ID == $id and
                .QUALITY_TASK_TYPE == "scene_generation" and .QUALITY_TIER == "high")' "$work/journal.json" \
                >/dev/null || { fail "no WORKFLOW_MISSING entry for scene_generation/high"; return 1; }
}

scn_journal_catalog() {
        local event name id missing=
        run ct journalctl --list-catalog --no-pager
        for event in "${JOURNAL_EVENTS[@]}"; do
                name=${event%% *}
                id=$(msgid "$name")
                grep -q "^$id " <<<"$out" || missing+=" $name"
        done
        [ -z "$missing" ] || { fail "journalctl --list-catalog lacks:$missing"; return 1; }
        run ct journalctl -b 0 -x -u "$UNIT" --no-pager MESSAGE_ID="$(msgid CONFIG_APPLIED)"
        grep -q "Subject: Configuration generation [0-9]\+ applied" <<<"$out" ||
                { fail "journalctl -x lacks the catalog's text with the generation filled in"; return 1; }
        ! grep -q "@QUALITY_" <<<"$out" ||
                { fail "journalctl -x shows an unsubstituted @QUALITY_...@ field"; return 1; }
        out=
}

# A reboot: "systemctl reboot" inside ends nspawn (status 133); booting the same tree again is the next boot.
scn_reboot() {
        local g0 n_gen
        g0=$(prop Generation)
        call ListGenerations
        n_gen=$(jq '.data[0] | length' <<<"$out")
        ct systemctl add-wants "$TEST_TARGET" "$UNIT" >/dev/null 2>&1 ||
                { fail "cannot make $TEST_TARGET want $UNIT"; return 1; }
        local pid=$nspawn_pid
        # The reply may be lost as the container goes down.
        ct systemctl reboot >/dev/null 2>&1
        local status=0 deadline=$((SECONDS + 60))
        while kill -0 "$pid" 2>/dev/null; do
                [ $SECONDS -lt $deadline ] || { fail "the container did not reboot within 60 s"; return 1; }
                sleep 0.2
        done
        wait "$pid" || status=$?
        nspawn_pid=
        ct_pid1=
        [ "$status" -eq 133 ] || note "systemd-nspawn exited with status $status on reboot (133 expected)"
        boot_container || { stop_container; return 1; }
        wait_for 30 unit_active "$UNIT" || { fail "$UNIT did not start at boot"; return 1; }
        [ "$(prop Generation)" = "$g0" ] ||
                { fail "after the reboot the generation is $(prop Generation), not $g0"; return 1; }
        [ "$(resolved_steps character_portrait high)" = 61 ] ||
                { fail "after the reboot Resolve lost steps 61"; return 1; }
        call ListGenerations
        [ "$(jq '.data[0] | length' <<<"$out")" = "$n_gen" ] ||
                { fail "the reboot changed the number of generations"; return 1; }
        [ "$(unit_prop "$UNIT" NRestarts)" = 0 ] ||
                { fail "the daemon restarted after the reboot"; return 1; }
}
