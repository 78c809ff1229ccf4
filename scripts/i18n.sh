#!/usr/bin/env bash
# The languages' catalogues (movievote/locales):
#   scripts/i18n.sh            extract the marked texts and merge them into every catalogue
#   scripts/i18n.sh new LANG   start a catalogue for a new language (e.g. es, fr, pt_PT)
#   scripts/i18n.sh check      fail if a catalogue is behind the code or has untranslated texts
# Translate the new or changed entries of each `messages.po` (an entry marked "fuzzy" is a
# guess to review: remove the flag once it is right). No compile step: the app compiles the
# catalogues in memory when it starts.
source "$(dirname "$0")/_env.sh"
LOCALES=movievote/locales
POT="$LOCALES/messages.pot"
extract() {
    pybabel -q extract -F babel.cfg --no-location --sort-output --omit-header \
        -k t -k nt:1,2 -k N_ -k gettext:2 -k ngettext:2,3 -o "$POT" movievote
}
case "${1:-update}" in
    update)
        extract
        pybabel -q update -i "$POT" -d "$LOCALES" -D messages -w 100 \
            --ignore-obsolete --no-fuzzy-matching
        ;;
    new)
        extract
        pybabel init -i "$POT" -d "$LOCALES" -D messages -l "${2:?the language, e.g. es or pt_PT}"
        echo "now add it to LANGUAGES and LANGUAGE_NAMES in movievote/i18n.py and translate it"
        ;;
    check)
        python -m pytest -q tests/unit/test_i18n.py
        ;;
    *)
        sed -n '2,8p' "$0"
        exit 2
        ;;
esac
