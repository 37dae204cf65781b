"""Locale choice and catalog compilation."""
from __future__ import annotations

import functools
import logging
import os
import tempfile
from functools import cached_property
from pathlib import Path

import flask_babel
from babel import Locale, support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, request, session
from flask_babel import Babel, Domain, get_locale
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def select_locale() -> str:
    """The user's saved choice, then the session's, then the browser's, then Chinese."""
    languages = current_app.config["LANGUAGES"]
    user = current_user._get_current_object() if current_user else None  # resolved once
    if user is not None and user.is_authenticated and user.locale in languages:
        return user.locale
    return visitor_locale(current_app.config, session, request or None)


def visitor_locale(config, visitor_session, asked) -> str:
    """A visitor's language (nobody signed in): the session's choice, then the browser's, then
    Chinese. Also what the kept-page middleware asks, before any request context exists."""
    languages = config["LANGUAGES"]
    if visitor_session.get("locale") in languages:
        return visitor_session["locale"]
    best = None
    if asked is not None and (header := asked.headers.get("Accept-Language")):
        best = _browser_language(header, tuple(languages))
    return best or config["BABEL_DEFAULT_LOCALE"]


@functools.lru_cache(maxsize=256)
def _browser_language(header: str, languages: tuple[str, ...]) -> str | None:
    """The best of `languages` for a browser's Accept-Language, worked out once per header
    (browsers send a handful of different ones, on every request and asked several times in
    each). Werkzeug matches "zh-CN" and bare "zh" against zh_CN, and "en-GB" against en."""
    return parse_accept_header(header, LanguageAccept).best_match(languages)


@functools.cache
def _parsed(code: str) -> Locale:
    return Locale.parse(code)


def request_locale() -> Locale:
    """select_locale() as the Locale Flask-Babel asks for once per request: parsed once per
    language, not at every request (parsing builds the locale's data anew each time)."""
    return _parsed(select_locale())


def compile_catalogs(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile every .po whose .mo is missing or older, so a fresh clone shows Chinese at once.

    Returns the catalogs compiled. A read-only deployment that shipped compiled catalogs
    simply skips this.
    """
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as f:
                catalog = read_po(f, locale=po_path.parent.parent.name)
            # Written aside and renamed into place: workers reading it never see half a file.
            fd, tmp = tempfile.mkstemp(dir=mo_path.parent, prefix=".messages.")
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.replace(tmp, mo_path)
        except OSError as exc:  # read-only install: use whatever was shipped
            log.warning("cannot compile %s: %s", po_path, exc)
            continue
        compiled.append(mo_path)
    return compiled


class CatalogDomain(Domain):
    """Finds the zh_CN catalog for Babel's zh_Hans_CN locale.

    Babel expands "zh_CN" to zh_Hans_CN, a name gettext does not map back to the catalog folder;
    so the folder name language_TERRITORY is tried after the full name.
    """

    def get_translations(self):
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        return self.translations_for(locale)

    def translations_for(self, locale):
        # Keyed by the locale's parts: str(locale) rebuilds its name at every call, and a page
        # looks up dozens of strings.
        key = (locale.language, locale.territory, locale.script, locale.variant)
        translations = self.cache.get(key)
        if translations is None:
            names = [str(locale)]
            if locale.territory:
                names.append(f"{locale.language}_{locale.territory}")
            names.append(locale.language)
            # The first catalog found is the base: it carries the locale's plural rule, which a
            # blank Translations() would replace with English's.
            for dirname in self.translation_directories:
                found = support.Translations.load(dirname, names, self.domain[0])
                if translations is None:
                    translations = found
                elif isinstance(found, support.Translations):
                    translations.merge(found)
            translations = self.cache[key] = translations or support.NullTranslations()
        return translations


class LinliBabel(Babel):
    @cached_property
    def domain_instance(self):
        return CatalogDomain(domain=self.domain)

    def init_app(self, app, *args, **kwargs):
        super().init_app(app, *args, **kwargs)
        # Templates ask for their strings straight from the catalog of the locale in force
        # (force_locale included), without Flask-Babel's lookup of the domain at every string.
        def translations():
            return self.domain_instance.get_translations()

        app.jinja_env.install_gettext_callables(
            gettext=lambda s: translations().ugettext(s),
            ngettext=lambda s, p, n: translations().ungettext(s, p, n),
            pgettext=lambda c, s: translations().upgettext(c, s),
            npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
            newstyle=True)


def to_stored(dt):
    """A time typed in the community's timezone, as stored (naive UTC)."""
    return flask_babel.to_utc(dt).replace(tzinfo=None)


def to_shown(dt):
    """A stored time (naive UTC) in the community's timezone, as a form shows it."""
    return flask_babel.to_user_timezone(dt).replace(tzinfo=None)


def today_shown():
    """Today's date where the community is (the clock may be frozen in tests)."""
    from . import clock

    return to_shown(clock.now()).date()


def format_moment(value, _format=None) -> str:
    """A date and time in the one style every page uses: the locale's date as in a letter and
    the time without seconds (2026年12月2日 18:29; Dec 2, 2026, 6:29 PM), in the community's
    timezone. Templates reach it as the `format_datetime` filter, whatever format they name."""
    if value is None:
        return ""
    return " ".join((flask_babel.format_date(value, "medium"),
                     flask_babel.format_time(value, "short")))
