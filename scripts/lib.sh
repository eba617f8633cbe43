# Shared helpers for Agora's scripts. Source it; do not run it.
#
# Rules every script here keeps (a fresh machine must get through them):
# - a probe for something that may be absent never ends the script: it is
#   written `if ! probe; then install; fi` or `value="$(probe || true)"`;
# - every install runs through `step`, which prints what failed and how to
#   fix it instead of ending in a bare `Error 1`;
# - anything else that fails is reported by the ERR trap below with the
#   script, line and command.

# Versions of the build tools. wasm-bindgen's comes from Cargo.lock.
CARGO_LEPTOS_VERSION="0.3.11"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() {
  printf '\033[1;31merror:\033[0m %s\n' "$*" >&2
  exit 1
}

# Reports any failing command that no `step` wrapped, then exits with its
# status. Only under `set -e`: where a script turned it off to look at a
# status itself, the trap keeps out of the way.
set -E
agora_on_error() {
  local status="$1" command="$2" where="$3"
  printf '\033[1;31merror:\033[0m %s: `%s` failed (exit %s)\n' "$where" "$command" "$status" >&2
  exit "$status"
}
trap 'agora_status=$?; [[ $- != *e* ]] || agora_on_error "$agora_status" "$BASH_COMMAND" "${BASH_SOURCE[0]}:$LINENO"' ERR

# step WHAT FIX COMMAND... — runs COMMAND; prints WHAT with its duration, or
# on failure WHAT, the exit status and FIX, then exits.
step() {
  local what="$1" fix="$2" started status
  shift 2
  started=$SECONDS
  say "$what"
  set +e
  "$@"
  status=$?
  set -e
  if [ "$status" -ne 0 ]; then
    printf '\033[1;31merror:\033[0m %s failed (exit %s)\n  fix: %s\n' "$what" "$status" "$fix" >&2
    exit "$status"
  fi
  say "$what: done in $((SECONDS - started)) s"
}

# Runs apt-get as root or through sudo.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  step "installing Debian packages: $*" \
    "run \`${sudo:+sudo }apt-get install -y $*\` by hand and read its message (a proxy or a missing sudo right are the usual causes)" \
    apt_get_install $sudo "$@"
}
apt_get_install() {
  local sudo=""
  if [ "$1" = sudo ]; then sudo=sudo; shift; fi
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

# `npm ci` in DIR, skipped when package-lock.json has not changed since the
# last install there.
npm_install_once() {
  local dir="$1" stamp lock
  stamp="$dir/node_modules/.agora-lock-sha"
  lock="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" = "$lock" ]; then
    return 0
  fi
  step "installing npm packages in $dir" \
    "check that the npm registry is reachable (\`npm ping\`), then run \`cd $dir && npm ci\`" \
    env -C "$dir" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" >"$stamp"
}

# python_venv NAME REQUIREMENTS — a virtualenv at .tools/NAME holding exactly
# REQUIREMENTS (a pinned requirements file), made again whenever that file
# changes. Test peers live in the clone, never in the system Python, so every
# fresh clone (and so every CI run) proves that they install.
python_venv() {
  local name="$1" requirements="$2" dir stamp want
  dir=".tools/$name"
  stamp="$dir/.agora-requirements-sha"
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" = "$want" ]; then
    return 0
  fi
  if ! python3 -c "import ensurepip, venv" 2>/dev/null; then
    apt_install python3-venv
  fi
  rm -rf "$dir"
  step "installing the $name test peer into $dir (from $requirements)" \
    "check that PyPI is reachable (\`python3 -m pip download --no-deps -d /tmp pip\`), then run \`rm -rf $dir\` and try again" \
    make_python_venv "$dir" "$requirements"
  echo "$want" >"$stamp"
}
make_python_venv() {
  python3 -m venv "$1" && "$1/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$2"
}
