#!/usr/bin/env bash
# Fetch the pinned htmx release from the npm registry into the static folder, unmodified, and
# check it against the recorded checksum. Run it to verify the committed copy or after changing
# HTMX_VERSION (then update SHA256SUMS and say why in the commit).
set -euo pipefail
HTMX_VERSION=2.0.11
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/participation/static/vendor/htmx"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null)
tar -xzf "$work"/htmx.org-"$HTMX_VERSION".tgz -C "$work"
mkdir -p "$dest"
cp "$work/package/dist/htmx.min.js" "$dest/htmx.min.js"
cp "$work/package/LICENSE" "$dest/LICENSE"
echo "$HTMX_VERSION" > "$dest/VERSION"
if [ -f "$dest/SHA256SUMS" ]; then
  (cd "$dest" && sha256sum --check --strict SHA256SUMS)
else
  (cd "$dest" && sha256sum htmx.min.js LICENSE > SHA256SUMS)
  echo "recorded new checksums in $dest/SHA256SUMS"
fi
