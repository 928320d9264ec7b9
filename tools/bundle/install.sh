#!/usr/bin/env bash
# Installs infergate from this unpacked offline bundle: no network, no npm, no compiler. Needs Node.js with
# the same ABI as the bundle (Node 20; bundle.json says which) and, for the service, systemd.
#
#   sudo ./install.sh                            # /opt/infergate, user, dirs, config, LAN unit (not started)
#   sudo ./install.sh --local [--start]          # the no-network unit, over Mosquitto's Unix socket
#   sudo ./install.sh --broker-net 192.168.10.0/24
#   ./install.sh --prefix DIR --no-systemd       # the program only, into DIR: DIR/bin/infergate run
#
# It copies the program to the prefix, checks that every native part loads on this box, then (unless
# --no-systemd) runs the prefix's systemd/install.sh for the user, directories, config and unit; the
# options --local, --broker-net and --start are passed on to it. Step by step: docs/install.md.
set -euo pipefail

PREFIX=/opt/infergate
SYSTEMD=1
NODE=""
PASS=()

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  echo "options: --prefix DIR | --no-systemd | --node PATH | --local | --broker-net CIDR | --start"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
    --no-systemd) SYSTEMD=0 ;;
    --node) NODE="${2:?--node needs the path of node}"; shift ;;
    --local | --start) PASS+=("$1") ;;
    --broker-net) PASS+=("$1" "${2:?--broker-net needs a CIDR}"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done

SRC="$(cd "$(dirname "$0")" && pwd)"
[ -f "$SRC/bundle.json" ] && [ -f "$SRC/dist/bin/infergate.js" ] ||
  { echo "install.sh: run it from an unpacked infergate bundle ($SRC has no bundle.json)" >&2; exit 66; }
if [ "$SYSTEMD" = 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "install.sh: the service install needs root (or: --prefix DIR --no-systemd)" >&2; exit 77; }
  # The units run /usr/bin/node directly (systemd must see the daemon as its main process).
  NODE="${NODE:-/usr/bin/node}"
elif [ ${#PASS[@]} -gt 0 ]; then
  echo "install.sh: ${PASS[*]} only apply to the systemd install" >&2
  exit 64
fi
NODE="${NODE:-$(command -v node || true)}"
[ -n "$NODE" ] && [ -x "$NODE" ] || { echo "install.sh: node not found: install Node.js 20 (or --node PATH)" >&2; exit 69; }

# The native addons (SQLite, ONNX Runtime, llama.cpp) were built for one architecture and Node ABI.
"$NODE" -e '
  const bundle = require(process.argv[1]);
  const problems = [];
  if (process.platform !== bundle.platform || process.arch !== bundle.arch)
    problems.push(`this bundle is for ${bundle.platform}-${bundle.arch}, this box is ${process.platform}-${process.arch}`);
  if (process.versions.modules !== bundle.nodeAbi)
    problems.push(`node ${process.version} has ABI ${process.versions.modules}; the bundle was built with ${bundle.builtWithNode} (ABI ${bundle.nodeAbi}): use that Node major`);
  for (const p of problems) console.error(`install.sh: ${p}`);
  process.exit(problems.length === 0 ? 0 : 69);
' "$SRC/bundle.json"

echo "== program: $PREFIX"
if [ "$SRC" != "$(mkdir -p "$PREFIX" && cd "$PREFIX" && pwd)" ]; then
  for part in dist node_modules config models systemd docs package.json README.md LICENSE bundle.json; do
    [ -e "$SRC/$part" ] || continue
    rm -rf "${PREFIX:?}/$part"
    cp -a "$SRC/$part" "$PREFIX/"
  done
fi
mkdir -p "$PREFIX/bin"
cat >"$PREFIX/bin/infergate" <<EOF
#!/bin/sh
exec "$NODE" "$PREFIX/dist/bin/infergate.js" "\$@"
EOF
chmod 0755 "$PREFIX/bin/infergate"
if [ "$(id -u)" = 0 ] && [ "$SYSTEMD" = 1 ]; then
  # Root-owned and not writable by the service: it can run the program, not change it.
  chown -R root:root "$PREFIX"
  chmod -R go-w "$PREFIX"
fi

echo "== native parts on this box"
"$NODE" "$PREFIX/dist/tools/bundle/self-check.js" ||
  { echo "install.sh: a native part does not load here (above); this bundle does not fit this box" >&2; exit 69; }
"$PREFIX/bin/infergate" check-config "$PREFIX/config/default.yaml" >/dev/null ||
  { echo "install.sh: the bundled default config or sample models fail their check (above)" >&2; exit 70; }

if [ "$SYSTEMD" = 0 ]; then
  echo "== installed in $PREFIX (no service)"
  echo "   run: $PREFIX/bin/infergate run    (embedded broker on 127.0.0.1:1884, state in $PREFIX/state)"
  echo "   or:  $PREFIX/bin/infergate run -c FILE"
  exit 0
fi
exec "$PREFIX/systemd/install.sh" --prefix "$PREFIX" "${PASS[@]}"
