# Sourced by scripts/test, scripts/demo and scripts/bench: the one place that says what tzwm needs
# from the machine and how it is built.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian packages the build and the demo use.
tzwm_packages=(
    build-essential cmake pkg-config
    libp11-kit-dev libcmocka-dev
    libsodium-dev libsecp256k1-dev libssl-dev libcjson-dev
    softhsm2 opensc
    libcurl4-openssl-dev libmicrohttpd-dev
    curl jq openssl
)
# What only the tests add: the format check, the fuzzers (clang), DynamoDB Local (Java), the
# SigV4 reference (botocore) and memcheck.
tzwm_test_packages=(
    clang-format clang libclang-rt-14-dev openjdk-17-jre-headless python3-botocore valgrind
)
# npm may come from elsewhere than Debian (nodesource): Debian's only when there is none.
command -v npm >/dev/null || tzwm_packages+=(nodejs npm)

log() {
    printf '\033[1m== %s\033[0m\n' "$*" >&2
}

# install_dependencies [PACKAGE...]: installs whatever of tzwm_packages and the packages named is
# missing (nothing when all are there).
install_dependencies() {
    local missing=() package
    for package in "${tzwm_packages[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        local sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# build DIR [cmake options] [-- TARGET...]: configure and build into DIR (options given every
# time, so that a cached build directory never keeps an old one); only the targets when named.
build() {
    local dir=$1 options=() targets=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        options+=("$1")
        shift
    done
    [ $# -eq 0 ] || targets=(--target "${@:2}")
    log "building $dir ${options[*]} ${targets[*]}"
    cmake -S "$top" -B "$top/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${options[@]}" >/dev/null
    cmake --build "$top/$dir" -j "$(nproc)" "${targets[@]}"
}

# The npm packages of the committed package-lock.json: dynalite (a DynamoDB-API server in Node)
# and Taquito's remote-signer client, for tzwm-signer's tests.
install_npm_packages() {
    log "npm ci (dynalite, Taquito)"
    (cd "$top" && npm ci --no-audit --no-fund --silent)
}

# The DynamoDB-API test servers: dynalite, and AWS's DynamoDB Local, fetched once into .cache/
# (its licence forbids committing it).
install_test_servers() {
    install_npm_packages
    log "DynamoDB Local in $("$top/tests/servers/fetch-dynamodb-local")"
}
