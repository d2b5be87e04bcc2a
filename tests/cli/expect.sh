# Sourced by the CLI tests: build/tzwm (TZWM_CLI) run as an operator runs it, each run's stdout
# and stderr kept in $out/NAME.out and $out/NAME.err, and a count of passed and failed checks.
tzwm=${TZWM_CLI:?}
out=${TZWM_TEST_DIR:?}/cli
mkdir -p "$out"
passed=0 failed=0

pass() {
    echo "ok   $1"
    passed=$((passed + 1))
}

# fail NAME WHY: a failed check, with what the run printed.
fail() {
    echo "FAIL $1: $2" >&2
    for file in "$out/$1.out" "$out/$1.err"; do
        [ ! -s "$file" ] || { echo "--- ${file##*/}" >&2 && cat "$file" >&2; }
    done
    failed=$((failed + 1))
}

# run NAME COMMAND...: runs COMMAND; its exit status in $status.
run() {
    local name=$1
    shift
    "$@" >"$out/$name.out" 2>"$out/$name.err"
    status=$?
}

# expect NAME STATUS PATTERN COMMAND...: COMMAND exits with STATUS and its stdout or stderr has a
# line matching the extended regular expression PATTERN.
expect() {
    local name=$1 want=$2 pattern=$3
    shift 3
    run "$name" "$@"
    if [ "$status" -ne "$want" ]; then
        fail "$name" "exit $status (want $want)"
    elif ! cat "$out/$name.out" "$out/$name.err" | grep -Eq -- "$pattern"; then
        fail "$name" "no line matches '$pattern'"
    else
        pass "$name"
    fi
}

# check NAME WHY COMMAND...: COMMAND (a test of earlier results) succeeds.
check() {
    local name=$1 why=$2
    shift 2
    if "$@"; then
        pass "$name"
    else
        fail "$name" "$why"
    fi
}

# The summary and the test's exit status.
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
