# SPDX-License-Identifier: LGPL-2.1-or-later
# TAP helpers the CLI tests share, sourced by them. run() keeps stderr in "$tmp/stderr": set tmp first.

n=0
failed=0

# check DESCRIPTION COMMAND...: one TAP line, by the command's exit status.
check() {
        local description=$1
        shift
        n=$((n + 1))
        if "$@"; then
                echo "ok $n - $description"
        else
                echo "not ok $n - $description"
                failed=$((failed + 1))
                echo "#   stdout: ${out//$'\n'/$'\n'#           }"
                echo "#   stderr: ${err//$'\n'/$'\n'#           }"
                echo "#   exit status: $rc"
        fi
}

# run COMMAND...: runs it, keeping stdout, stderr and the exit status in $out, $err and $rc.
out=
err=
rc=0
run() {
        rc=0
        out=$("$@" 2>"$tmp/stderr") || rc=$?
        err=$(cat "$tmp/stderr")
}

exits() {
        [ "$rc" -eq "$1" ]
}

stdout_has() {
        grep -qE -- "$1" <<<"$out"
}

stderr_has() {
        grep -qE -- "$1" <<<"$err"
}
