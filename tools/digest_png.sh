#!/usr/bin/env bash
# Regenerates docs/digest.png: the demo archive's digest as it renders in a mail client.
# Needs Debian's chromium (apt-get install chromium). Offline: the demo serves its own feeds.
set -euo pipefail
work=$(mktemp -d)
cd "$(dirname "$0")/.."
monitor demo --database "$work/demo.db" > /dev/null
# The demo's articles carry fixed dates (8 to 16 Nov 2026): older_than is set so that the two
# published before 11 Nov show as "Older stories found this period" and the rest as the period's news,
# whatever day this runs.
older=$(python3 -c 'from datetime import *; print(max(0, int((datetime.now(timezone.utc) - timedelta(days=7)
    - datetime(2026, 11, 11, tzinfo=timezone.utc)).total_seconds())))')
printf 'database: %s\nrules: %s\nfeeds: []\ndigest:\n  archive_url: http://127.0.0.1:8001\n  older_than: %ss\n' \
  "$work/demo.db" "$PWD/rules" "$older" > "$work/feeds.yaml"
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
