#!/usr/bin/env bash
# Regenerates docs/datasette-*.png: the demo archive in `monitor serve`, as a browser shows it.
# Needs Debian's chromium (apt-get install chromium) and the datasette extra. Offline: the demo
# serves its own feeds, Datasette listens on 127.0.0.1.
set -euo pipefail
work=$(mktemp -d)
cd "$(dirname "$0")/.."
monitor demo --database "$work/monitor-demo.db" > /dev/null 2> "$work/demo.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
monitor serve --database "$work/monitor-demo.db" --port "$port" > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
python3 - "$base" <<'PY'
import sys, time, urllib.request
for _ in range(600):
    try:
        urllib.request.urlopen(sys.argv[1] + "/-/versions.json", timeout=2)
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("monitor serve did not answer")
PY
shot() {  # shot FILE HEIGHT PATH
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$work/chromium" --hide-scrollbars \
    --window-size=1100,"$2" --screenshot="$PWD/docs/$1" "$base$3" 2> /dev/null
}
shot datasette-home.png 1000 "/monitor-demo"
shot datasette-hits.png 900 "/monitor-demo/hits_in_place?place=%D0%A1%D1%83%D0%BC%D0%B8&rule=&days=&_hide_sql=1"
shot datasette-place.png 900 "/monitor-demo/places/UA-59"
