# SPDX-License-Identifier: LGPL-2.1-or-later
# The container of the system tests, sourced by "run": the staged tree, the overlay, the boot, commands run
# inside with nsenter, and the teardown that stops everything by PID. Needs $work, an empty directory.
# shellcheck shell=bash

# The staged install, the overlay's upper layer and its mount point; nspawn's PID and the container's PID 1.
stage=$work/stage
upper=$work/upper
root=$work/root
nspawn_pid=
ct_pid1=
boot_count=0

# ---------------------------------------------------------------------------------------------------------
# Teardown: stop the container by PID (politely, then by force), unmount, remove.

stop_container() {
        local pid=$nspawn_pid
        [ -n "$pid" ] || return 0
        if kill -0 "$pid" 2>/dev/null; then
                # nspawn turns SIGTERM into a clean shutdown of the container.
                kill -TERM "$pid" 2>/dev/null
                for _ in $(seq 100); do
                        kill -0 "$pid" 2>/dev/null || break
                        sleep 0.1
                done
        fi
        if kill -0 "$pid" 2>/dev/null; then
                [ -n "$ct_pid1" ] && kill -KILL "$ct_pid1" 2>/dev/null
                kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
        nspawn_pid=
        ct_pid1=
}

teardown() {
        stop_container
        if mountpoint -q "$root" 2>/dev/null; then
                umount "$root" 2>/dev/null || umount -l "$root"
        fi
        if mountpoint -q "$work" 2>/dev/null; then
                umount "$work" 2>/dev/null || umount -l "$work"
        fi
        rmdir "$work" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------------------
# Running things.

# run COMMAND...: runs it, keeping stdout, stderr and the exit status in $out, $err and $rc.
run() {
        rc=0
        out=$("$@" 2>"$work/stderr") || rc=$?
        err=$(<"$work/stderr")
}

readonly CT_ENV=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
                 SYSTEMD_PAGER= SYSTEMD_COLORS=0 SYSTEMD_LOG_COLOR=0 TERM=dumb)

# ct [-t SECONDS] COMMAND...: runs COMMAND in the container as root with a clean environment.
ct() {
        local t=30
        if [ "$1" = -t ]; then
                t=$2
                shift 2
        fi
        timeout -k 5 $((t + 10)) nsenter -t "$ct_pid1" -a "${CT_ENV[@]}" timeout -k 5 "$t" "$@"
}

# ct_as UID [GID...] -- COMMAND...: runs COMMAND in the container as UID with exactly those groups.
ct_as() {
        local uid=$1 groups=()
        shift
        while [ "$1" != -- ]; do
                groups+=("$1")
                shift
        done
        shift
        if [ ${#groups[@]} -eq 0 ]; then
                ct setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
        else
                ct setpriv --reuid="$uid" --regid="$uid" --groups="$(IFS=,; echo "${groups[*]}")" "$@"
        fi
}

# ct_write PATH [MODE]: writes stdin to PATH in the container.
ct_write() {
        ct sh -c 'cat >"$1.tmp" && chmod "$2" "$1.tmp" && mv "$1.tmp" "$1"' sh "$1" "${2:-0644}"
}

# wait_for SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds or SECONDS have passed.
wait_for() {
        local deadline
        deadline=$(($(date +%s%N) + $1 * 1000000000))
        shift
        until "$@"; do
                [ "$(date +%s%N)" -lt "$deadline" ] || return 1
                sleep 0.2
        done
}

# ---------------------------------------------------------------------------------------------------------
# The container.

prepare_tree() {
        mkdir -p "$work" || return 1
        mount -t tmpfs -o mode=0755,size=2G aq-system-test "$work" || return 1
        mkdir -p "$stage" "$upper" "$work/overlay-work" "$root"

        run timeout 300 meson install -C "$build_dir" --destdir "$stage" --no-rebuild
        [ "$rc" -eq 0 ] || { fail "meson install --destdir failed (status $rc)"; return 1; }

        local f
        for f in usr/libexec/auteur-quality/auteur-qualityd usr/bin/auteur-qualityctl etc/auteur/environments
        do
                [ -e "$stage/$f" ] || {
                        fail "meson install put no /$f: configure with -Dprefix=/usr -Dsysconfdir=/etc"
                        return 1
                }
        done

        # A staged top-level directory that is a symbolic link on this system (/lib -> usr/lib) would hide
        # the link in the overlay: fold it into usr/.
        local d
        for d in lib lib64 bin sbin; do
                if [ -d "$stage/$d" ] && [ -L "/$d" ]; then
                        mkdir -p "$stage/usr/$d"
                        cp -a "$stage/$d/." "$stage/usr/$d/" && rm -rf "${stage:?}/$d" || return 1
                fi
        done

        # Whatever this host holds of the product (a state directory, a config, units, a workflow library)
        # stays out of the container: an opaque staged /etc/auteur, and whiteouts (0/0 character devices) in
        # the upper layer for the rest.
        python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")' \
                "$stage/etc/auteur" || { fail "cannot make the staged /etc/auteur opaque"; return 1; }
        local hidden
        for hidden in /var/lib/auteur-quality /var/lib/private/auteur-quality "$WORKFLOWS" \
                      /etc/dbus-1/system.d/org.auteur.QualityTier.conf /etc/systemd/system/auteur-quality* \
                      /etc/systemd/system/dbus-org.auteur.QualityTier.service \
                      /etc/systemd/system/*/auteur-quality*; do
                [ -e "$hidden" ] || [ -L "$hidden" ] || continue
                note "hidden from the container: $hidden"
                mkdir -p "$upper$(dirname "$hidden")" && mknod "$upper$hidden" c 0 0 || return 1
        done

        # Boot into basic.target and the bus only: services enabled on this host stay off in the container.
        local units=$upper/etc/systemd/system
        mkdir -p "$units"
        cat >"$units/$TEST_TARGET" <<-EOF
		[Unit]
		Description=auteur-quality system tests
		Requires=basic.target
		Wants=dbus.service systemd-journald.service
		After=basic.target dbus.service
		AllowIsolate=yes
	EOF
        ln -s "$TEST_TARGET" "$units/default.target"
        for d in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
                 e2scrub_reap.service fstrim.timer man-db.timer logrotate.timer systemd-timesyncd.service \
                 systemd-pstore.service; do
                ln -s /dev/null "$units/$d"
        done

        mount -t overlay aq-system-test \
                -o "lowerdir=$stage:/,upperdir=$upper,workdir=$work/overlay-work" "$root" ||
                { fail "the overlay of the staged tree over / cannot be mounted"; return 1; }
}

# The PID, in this namespace, of the container's PID 1: nspawn's child whose PID inside is 1.
find_pid1() {
        local status pid
        for status in /proc/[0-9]*/status; do
                pid=${status#/proc/}
                pid=${pid%/status}
                [ "$(awk '/^PPid:/ { print $2 }' "$status" 2>/dev/null)" = "$nspawn_pid" ] || continue
                [ "$(awk '/^NSpid:/ { print $NF }' "$status" 2>/dev/null)" = 1 ] || continue
                echo "$pid"
                return 0
        done
        return 1
}

boot_container() {
        boot_count=$((boot_count + 1))
        local console=$work/console-$boot_count.log
        systemd-nspawn -D "$root" -b --private-network --register=no --link-journal=no --keep-unit \
                --console=pipe </dev/null >"$console" 2>&1 &
        nspawn_pid=$!
        local deadline=$((SECONDS + 30))
        until ct_pid1=$(find_pid1); do
                if ! kill -0 "$nspawn_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
                        ct_pid1=
                        out=$(tail -n 30 "$console")
                        fail "systemd-nspawn did not start a container"
                        return 1
                fi
                sleep 0.1
        done
        # Until the container's systemd listens on its bus, systemctl cannot ask it anything.
        deadline=$((SECONDS + 90))
        while :; do
                run ct -t 90 systemctl is-system-running --wait
                [ -z "$out" ] && [ $SECONDS -lt $deadline ] || break
                sleep 0.2
        done
        case $out in
        running) ;;
        degraded)
                note "the container booted degraded:" \
                     "$(ct systemctl --failed --no-legend --plain | awk '{ print $1 }')"
                ;;
        *)
                fail "the container's systemd did not finish booting: '$out'"
                return 1
                ;;
        esac
}
