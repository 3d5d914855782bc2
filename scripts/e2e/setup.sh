#!/usr/bin/env bash
# Installs what the real-VS-Code test needs, into $E2E_ROOT (default ~/.cache/xsave-debug-e2e);
# idempotent: a finished step is skipped on the next run.
# - Debian: chromium (the browser playwright-core drives), libkrb5-dev + pkg-config (VS Code's
#   kerberos native module builds with node-gyp during the code-server install).
# - Node 24 from the npm registry: code-server's install scripts accept only Node 24.
# - code-server 4.139.1 (VS Code 1.139.1 workbench and extension host) from npm.
# This machine reaches only the npm registry and Debian's archive; nothing downloads a VS Code or a
# browser build of its own. Prints the paths it set up as KEY=VALUE lines on stdout.
set -euo pipefail
ROOT=${E2E_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/xsave-debug-e2e}
# Run from `npm run`, the environment names the outer npm's Node 20 (NODE, npm_node_execpath,
# npm_config_*); code-server's install scripts would see it and refuse. Start clean.
unset NODE
for v in $(env | grep -o '^npm_[A-Za-z0-9_]*' || true); do unset "$v"; done
CS_VERSION=4.139.1
mkdir -p "$ROOT/logs" "$ROOT/tmp" "$ROOT/home"
log() { echo "[setup ${SECONDS}s] $*" >&2; }
# Runs a long install in the background, its output appended to a log, and says every 10 s that it
# is still going, so a first run is never minutes of silence. $1: what it is (for the messages),
# $2: the log file, the rest: the command.
with_progress() {
  local what=$1 logfile=$2; shift 2
  log "$what..."
  "$@" >>"$logfile" 2>&1 & local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 10
    kill -0 "$pid" 2>/dev/null && log "still $what..."
  done
  wait "$pid"
}

# Debian packages (needs root or sudo; skipped with E2E_SKIP_APT=1 when they are already there).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ] && [ -z "${E2E_SKIP_APT:-}" ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  log "apt-get install ${missing[*]}"
  : >"$ROOT/logs/apt.log"
  with_progress "updating Debian's package lists" "$ROOT/logs/apt.log" $SUDO apt-get update -qq
  with_progress "installing ${missing[*]}" "$ROOT/logs/apt.log" $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
    || { tail -20 "$ROOT/logs/apt.log" >&2; exit 1; }
fi

# Node 24: the npm package 'node' brings the platform binary as a dependency.
n24() {
  local d
  for d in "$ROOT"/node24/node_modules/node/node_modules/node-linux-* "$ROOT"/node24/node_modules/node-linux-*; do
    if [ -x "$d/bin/node" ]; then echo "$d/"; return 0; fi
  done
  return 0
}
N24=$(n24)
if [ -z "$N24" ] || [[ "$("${N24}bin/node" --version 2>/dev/null)" != v24.* ]]; then
  log "npm install node@24"
  mkdir -p "$ROOT/node24"; [ -f "$ROOT/node24/package.json" ] || echo '{"private":true}' >"$ROOT/node24/package.json"
  : >"$ROOT/logs/node24.log"
  (cd "$ROOT/node24" && with_progress "installing Node 24" "$ROOT/logs/node24.log" npm install --no-audit --no-fund node@24) || { tail -20 "$ROOT/logs/node24.log" >&2; exit 1; }
  N24=$(n24)
fi
N24=${N24%/}

# code-server, built under Node 24 with Node 24's headers (a user npmrc may point node-gyp elsewhere).
CS="$ROOT/cs/node_modules/.bin/code-server"
if ! [ -x "$CS" ] || [[ "$(HOME="$ROOT/home" "$CS" --version 2>/dev/null)" != "$CS_VERSION "* ]]; then
  log "npm install code-server@$CS_VERSION (node-gyp builds; a few minutes the first time)"
  mkdir -p "$ROOT/cs"; [ -f "$ROOT/cs/package.json" ] || echo '{"private":true}' >"$ROOT/cs/package.json"
  : >"$ROOT/logs/code-server.log"
  (cd "$ROOT/cs" && with_progress "installing code-server (log: $ROOT/logs/code-server.log)" "$ROOT/logs/code-server.log" \
    env PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" TMPDIR="$ROOT/tmp" \
    npm install --no-audit --no-fund --foreground-scripts "code-server@$CS_VERSION") \
    || { tail -40 "$ROOT/logs/code-server.log" >&2; exit 1; }
fi
log "ready: code-server $CS_VERSION, node $("$N24/bin/node" --version), $(chromium --version 2>/dev/null | head -1)"
echo "E2E_ROOT=$ROOT"
echo "NODE24=$N24/bin/node"
echo "CODE_SERVER=$CS"
