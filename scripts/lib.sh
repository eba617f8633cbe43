# Shared helpers for Agora's scripts. Source it; do not run it.

# Versions of the build tools. wasm-bindgen's comes from Cargo.lock.
CARGO_LEPTOS_VERSION="0.3.11"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs apt-get as root or through sudo.
apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  say "installing Debian packages: $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

# `npm ci` in DIR, skipped when package-lock.json has not changed since the
# last install there.
npm_install_once() {
  local dir="$1" stamp lock
  stamp="$dir/node_modules/.agora-lock-sha"
  lock="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock" ]; then
    return 0
  fi
  say "installing npm packages in $dir"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock" > "$stamp"
}

# Version of moto's S3 server used as the second S3 implementation in tests.
# 5.2.x answers ListParts with a root element the Rust SDK rejects (docs/storage.md).
MOTO_VERSION="5.1.22"

# The real SMTP server the mail tests send to.
AIOSMTPD_VERSION="1.4.6"
