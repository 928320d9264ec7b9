#!/usr/bin/env bash
# Installs infergate as a systemd service on a gateway box: user, directories, config, models, unit.
# Run as root from a built checkout or unpacked release (dist/ and node_modules/ present):
#
#   npm ci && npm run build && npm prune --omit=dev
#   sudo systemd/install.sh                               # LAN unit, broker on this box over TCP
#   sudo systemd/install.sh --broker-net 192.168.10.0/24  # LAN unit, broker elsewhere on that network
#   sudo systemd/install.sh --local                       # no network at all, Mosquitto's Unix socket
#
# It never overwrites /etc/infergate/config.yaml, the password file or models already installed, and it
# does not start anything unless --start is given. Step by step, without the script: docs/install.md.
set -euo pipefail

PREFIX=/opt/infergate
CONF_DIR=/etc/infergate
MODEL_DIR=/var/lib/infergate/models
UNIT_DIR=/etc/systemd/system
LOCAL=0
START=0
BROKER_NETS=()

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  echo "options: --local | --broker-net CIDR (repeatable) | --prefix DIR (default $PREFIX) | --start"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --local) LOCAL=1 ;;
    --broker-net) BROKER_NETS+=("${2:?--broker-net needs a CIDR}"); shift ;;
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift ;;
    --start) START=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
  shift
done

if [ "$LOCAL" = 1 ] && [ ${#BROKER_NETS[@]} -gt 0 ]; then
  echo "install.sh: --local has no network; --broker-net does not apply" >&2
  exit 64
fi
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 77; }
SRC="$(cd "$(dirname "$0")/.." && pwd)"
[ -f "$SRC/dist/bin/infergate.js" ] || { echo "install.sh: $SRC/dist is missing: npm run build first" >&2; exit 66; }
[ -d "$SRC/node_modules" ] || { echo "install.sh: $SRC/node_modules is missing: npm ci first" >&2; exit 66; }

# The unit runs /usr/bin/node directly (not npm), so systemd sees the daemon as its main process.
NODE=/usr/bin/node
[ -x "$NODE" ] || { echo "install.sh: $NODE not found: install Node.js 20 or newer there" >&2; exit 69; }
"$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "install.sh: Node.js 20 or newer is required ($("$NODE" --version))" >&2; exit 69; }

echo "== program: $PREFIX"
if [ "$SRC" != "$PREFIX" ]; then
  install -d -m 0755 "$PREFIX"
  for part in dist node_modules config models systemd docs package.json README.md; do
    [ -e "$SRC/$part" ] && cp -a "$SRC/$part" "$PREFIX/"
  done
  chown -R root:root "$PREFIX"
  chmod -R go-w "$PREFIX"
fi

echo "== user: infergate"
if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers "$PREFIX/systemd/infergate.sysusers"
elif ! id infergate >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/infergate --no-create-home --shell /usr/sbin/nologin infergate
fi

echo "== directories: $CONF_DIR, $MODEL_DIR (state: /var/lib/infergate/state, made by systemd)"
install -d -m 0750 -o root -g infergate "$CONF_DIR"
install -d -m 0755 -o root -g root /var/lib/infergate "$MODEL_DIR"
for model in "$PREFIX"/models/*.onnx "$PREFIX"/models/*.json; do
  [ -e "$model" ] || continue
  target="$MODEL_DIR/$(basename "$model")"
  [ -e "$target" ] || install -m 0644 -o root -g root "$model" "$target"
done

echo "== config: $CONF_DIR/config.yaml"
if [ ! -e "$CONF_DIR/config.yaml" ]; then
  install -m 0640 -o root -g infergate "$PREFIX/config/examples/gateway-box.yaml" "$CONF_DIR/config.yaml"
  if [ "$LOCAL" = 1 ]; then
    sed -i -e 's|^  url: mqtt://127.0.0.1:1883|  url: unix:///run/mosquitto/mqtt.sock|' "$CONF_DIR/config.yaml"
  fi
else
  echo "   kept the existing $CONF_DIR/config.yaml"
fi
if [ ! -e "$CONF_DIR/mqtt-password" ]; then
  # Read by systemd (LoadCredential=) as root; the service sees its own copy only.
  (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$CONF_DIR/mqtt-password")
  chown root:root "$CONF_DIR/mqtt-password"
  chmod 0600 "$CONF_DIR/mqtt-password"
  echo "   generated $CONF_DIR/mqtt-password; register it with Mosquitto:"
  echo "   mosquitto_passwd -b /etc/mosquitto/passwd infergate \"\$(cat $CONF_DIR/mqtt-password)\""
fi

echo "== unit"
if [ "$LOCAL" = 1 ]; then
  install -m 0644 "$PREFIX/systemd/infergate-local.service" "$PREFIX/systemd/infergate-local.socket" "$UNIT_DIR/"
  # Debian's mosquitto.service makes /run/mosquitto 0740; the mosquitto group must reach the socket.
  install -m 0644 "$PREFIX/systemd/mosquitto-socket-dir.tmpfiles" /etc/tmpfiles.d/infergate-mosquitto.conf
  systemd-tmpfiles --create /etc/tmpfiles.d/infergate-mosquitto.conf || true
  UNITS="infergate-local.socket infergate-local.service"
else
  install -m 0644 "$PREFIX/systemd/infergate.service" "$UNIT_DIR/"
  if [ ${#BROKER_NETS[@]} -gt 0 ]; then
    install -d -m 0755 "$UNIT_DIR/infergate.service.d"
    {
      echo "# Written by install.sh: the broker's network, beyond this box."
      echo "[Service]"
      for net in "${BROKER_NETS[@]}"; do echo "IPAddressAllow=$net"; done
    } >"$UNIT_DIR/infergate.service.d/broker-network.conf"
  fi
  UNITS="infergate.service"
fi
systemctl daemon-reload 2>/dev/null || echo "   (systemd is not running here: skipped daemon-reload)"

echo "== checking the config as the service user"
runuser -u infergate -- "$NODE" "$PREFIX/dist/bin/infergate.js" check-config "$CONF_DIR/config.yaml" ||
  echo "   fix $CONF_DIR/config.yaml before starting (every problem is listed above)"

if [ "$START" = 1 ]; then
  systemctl enable --now $UNITS
  echo "== started: journalctl -u ${UNITS##* } -f"
else
  echo "== next: edit $CONF_DIR/config.yaml, then: systemctl enable --now $UNITS"
fi
