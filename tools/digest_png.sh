#!/usr/bin/env bash
# Regenerates docs/digest.png: the demo archive's digest as it renders in a mail client.
# Needs Debian's chromium (apt-get install chromium). Offline: the demo serves its own feeds.
set -euo pipefail
work=$(mktemp -d)
cd "$(dirname "$0")/.."
monitor demo --database "$work/demo.db" > /dev/null 2> "$work/demo.log"
# The demo's items are this week's news (the newest a day old, the oldest nine days): with
# older_than 1d, the one published before the week's period shows as "Older stories found this
# period" and the rest as the period's news, whatever day this runs.
printf 'database: %s\nrules: %s\nfeeds: []\ndigest:\n  archive_url: http://127.0.0.1:8001\n  older_than: 1d\n' \
  "$work/demo.db" "$PWD/rules" > "$work/feeds.yaml"
monitor --config "$work/feeds.yaml" digest --dry-run --output "$work/digest.eml"
python3 - "$work" <<'PY'
import email, sys
from email.policy import default
work = sys.argv[1]
message = email.message_from_bytes(open(f"{work}/digest.eml", "rb").read(), policy=default)
open(f"{work}/digest.html", "w").write(message.get_body(("html",)).get_content())
PY
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$work/chromium" --hide-scrollbars \
  --window-size=780,1400 --screenshot="$PWD/docs/digest.png" "file://$work/digest.html"
