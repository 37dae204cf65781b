#!/usr/bin/env bash
# Refresh the catalogs after changing user-facing strings:
#   extract every msgid from Python and templates, merge into zh_CN and en, compile.
# Then translate the new entries in translations/*/LC_MESSAGES/messages.po.
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
  --project=Linli -o translations/messages.pot .
for locale in zh_CN en; do
  po="translations/$locale/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    pybabel update -i translations/messages.pot -d translations -l "$locale" --no-fuzzy-matching --ignore-obsolete
  else
    pybabel init -i translations/messages.pot -d translations -l "$locale"
  fi
done
# The msgids are English: the en catalog takes each one as its own translation.
python - <<'PY'
from babel.messages.pofile import read_po, write_po
path = "translations/en/LC_MESSAGES/messages.po"
with open(path, "rb") as f:
    catalog = read_po(f, locale="en")
for message in catalog:
    if message.id and not message.string or (isinstance(message.string, tuple) and not all(message.string)):
        message.string = message.id
with open(path, "wb") as f:
    write_po(f, catalog, omit_header=False, sort_output=True, no_location=True)
PY
pybabel compile -d translations --statistics
