"""Catalogs complete and current; locale choice order; formatting; <html lang>."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from participation.i18n import TRANSLATIONS
from tests.conftest import ROOT, login, post

PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]")


def catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_message_is_translated_with_its_placeholders(locale):
    missing, broken = [], []
    for message in catalog(locale):
        if not message.id:
            continue
        ids, strings = as_tuple(message.id), as_tuple(message.string)
        if not all(strings):
            missing.append(ids[0])
        elif any(sorted(PLACEHOLDER.findall(string)) not in
                 [sorted(PLACEHOLDER.findall(i)) for i in ids] for string in strings):
            # A plural form may read like either msgid (Chinese has one form for every n).
            broken.append(ids[0])
        if message.fuzzy:
            missing.append(ids[0])
    assert not missing, f"untranslated in {locale}: {missing[:10]}"
    assert not broken, f"placeholders differ in {locale}: {broken[:10]}"


def test_catalogs_hold_every_string_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as f:
        wanted = {as_tuple(m.id)[0] for m in read_po(f) if m.id}
    for locale in ("zh_CN", "en"):
        have = {as_tuple(m.id)[0] for m in catalog(locale) if m.id}
        assert not wanted - have, f"run scripts/i18n.sh: {sorted(wanted - have)[:10]}"


def test_accept_language_picks_english(client):
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en"' in html and "Log in" in html


def test_accept_language_zh_and_unknown_fall_back_to_chinese(client):
    for header in ("zh", "zh-TW,zh;q=0.8", "fr-FR", ""):
        html = client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
        assert '<html lang="zh-CN"' in html, header
        assert "登录" in html


def test_session_choice_beats_the_browser(client):
    post(client, "/language", {"locale": "en", "next": "/"})
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en"' in html


def test_user_setting_is_remembered_across_browsers(app, factory):
    user = factory.user()
    first = app.test_client()
    login(first, user)
    post(first, "/language", {"locale": "en", "next": "/"})
    post(first, "/display", {"large_text": "on", "next": "/"})
    second = app.test_client()
    login(second, user)
    html = second.get("/account").get_data(as_text=True)
    assert '<html lang="en" class="large-text"' in html


def test_dates_and_numbers_follow_the_locale(app, client, factory):
    from participation.policy import Role

    community = factory.community(household_count=12000)
    user = factory.user(community, Role.VERIFIED)
    login(client, user)
    zh = client.get(f"/c/{community.id}").get_data(as_text=True)
    assert "12,000" in zh
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", zh)
    post(client, "/language", {"locale": "en", "next": "/"})
    en = client.get(f"/c/{community.id}").get_data(as_text=True)
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}", en)


def test_chinese_pages_use_chinese_for_every_count(app, client, factory):
    """Plural messages follow the zh_CN rule (one form), not English's."""
    from participation.policy import Role

    community = factory.community()
    committee = factory.user(community, Role.COMMITTEE)
    for room in ("101", "102"):
        factory.household(community, room=room)
    login(client, committee)
    html = client.get(f"/c/{community.id}/households").get_data(as_text=True)
    assert "共 2 户" in html and "2 households" not in html


def test_an_empty_field_is_named_in_one_wording_everywhere(app, factory):
    """Number fields left empty used to say it in the form library's own words."""
    from participation.policy import Role

    community = factory.community()
    factory.household(community)
    committee = factory.user(community, Role.COMMITTEE)
    client = app.test_client()
    login(client, committee)
    url = f"/c/{community.id}/invites"
    empty_number = post(client, url, {"building": "", "days": ""}, page=url)
    words = catalog("zh_CN").get("This field is required.").string
    html = empty_number.get_data(as_text=True)
    assert words in html and "该字段是必填字段" not in html


HALF_WIDTH_NEXT_TO_CHINESE = re.compile(r"[\u4e00-\u9fff][ ]?[:(]|[)][ ]?[\u4e00-\u9fff]|[:]\s*$")


def visible_text(html: str) -> list[str]:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return [line.strip() for line in re.split(r"<[^>]+>", html) if line.strip()]


def test_chinese_pages_use_full_width_punctuation(app, client, factory):
    """'议题 (3)' and '支持: 1' are English punctuation on a Chinese page; the patterns carry
    their punctuation so each language writes its own."""
    from participation.policy import Role

    community = factory.community()
    resident = factory.user(community, Role.VERIFIED)
    consultation = factory.consultation(community, sites="3号楼后面的空地")
    topic = factory.topic(consultation, resident)
    login(client, resident)
    post(client, f"/c/{community.id}/topics/{topic.id}/comments",
         {"body": "同意", "stance": "support", "parent_id": ""},
         page=f"/c/{community.id}/topics/{topic.id}")
    pages = [f"/c/{community.id}", f"/c/{community.id}/consultations/{consultation.id}",
             f"/c/{community.id}/topics/{topic.id}", f"/c/{community.id}/no-such-page"]
    for url in pages:
        for text in visible_text(client.get(url).get_data(as_text=True)):
            assert not HALF_WIDTH_NEXT_TO_CHINESE.search(text), f"{url}: {text!r}"
