"""A resident takes back a support while the phase allows, with and without htmx."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from participation.extensions import db
from proposals.models import Proposal, Support
from tests.conftest import START, client_for, post


def supports(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Support))


def withdraw_button(html: str) -> bool:
    """The support form offers to take the support back (its action is the withdraw route)."""
    form = re.search(r'<form id="support-form".*?</form>', html, re.S).group(0)
    return "/support/withdraw" in form and "<button" in form


def submitted(app, place):
    community, people, consultation_id = place
    with app.app_context():
        p = Proposal(consultation_id=consultation_id, author_id=people["lin"].id,
                     title="加长椅", category="other", site="3号楼后", status="evaluating",
                     submitted_at=START)
        db.session.add(p)
        db.session.commit()
        return f"/c/{community.id}/proposals/{p.id}"


def test_a_support_is_withdrawn_and_given_again_without_javascript(app, place, at):
    at(START + timedelta(days=2))
    url = submitted(app, place)
    wang = client_for(app, place[1]["wang"])
    assert post(wang, url + "/support", page=url).status_code == 303
    page = wang.get(url).get_data(as_text=True)
    assert f'action="{url}/support/withdraw"' in page and withdraw_button(page)
    assert post(wang, url + "/support/withdraw", page=url).status_code == 303
    assert supports(app) == 0
    # A second click on the same button changes nothing.
    assert post(wang, url + "/support/withdraw", page=url).status_code == 303
    assert supports(app) == 0
    page = wang.get(url).get_data(as_text=True)
    assert f'action="{url}/support"' in page and "/support/withdraw" not in page
    assert post(wang, url + "/support", page=url).status_code == 303
    assert supports(app) == 1


def test_htmx_swaps_the_form_with_its_new_state(app, place, at):
    at(START + timedelta(days=2))
    url = submitted(app, place)
    wang = client_for(app, place[1]["wang"])
    headers = {"HX-Request": "true"}
    added = post(wang, url + "/support", page=url, headers=headers).get_data(as_text=True)
    assert f'hx-post="{url}/support/withdraw"' in added and withdraw_button(added)
    taken = post(wang, url + "/support/withdraw", page=url, headers=headers)
    html = taken.get_data(as_text=True)
    assert taken.status_code == 200 and f'hx-post="{url}/support"' in html
    assert "/support/withdraw" not in html and supports(app) == 0


def test_a_support_stays_once_the_phase_is_over(app, place, at):
    at(START + timedelta(days=2))
    url = submitted(app, place)
    wang = client_for(app, place[1]["wang"])
    post(wang, url + "/support", page=url)
    at(START + timedelta(days=36))  # the vote phase: supports are counted
    assert not withdraw_button(wang.get(url).get_data(as_text=True))
    assert post(wang, url + "/support/withdraw", page=url).status_code == 403
    assert supports(app) == 1
    # Nobody takes back someone else's support: the route only ever removes the caller's own.
    other = client_for(app, place[1]["mod"])
    at(START + timedelta(days=2))
    assert post(other, url + "/support/withdraw", page=url).status_code == 403
    assert supports(app) == 1


def test_the_write_lock_is_free_while_the_answer_renders(app, place, at):
    """Another resident's vote need not wait for this answer's template: the support is
    committed before the fragment renders."""
    import sqlite3

    from flask import before_render_template

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's file-wide write lock")
        path = db.engine.url.database
    at(START + timedelta(days=2))
    url = submitted(app, place)
    wang = client_for(app, place[1]["wang"])
    seen = []

    def try_to_write(_app, template, context):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            seen.append((template.name, other.execute(
                "SELECT count(*) FROM support").fetchone()[0]))
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            seen.append((template.name, str(error)))
        finally:
            other.close()

    before_render_template.connect(try_to_write, app)
    try:
        response = post(wang, url + "/support", page=url, headers={"HX-Request": "true"})
    finally:
        before_render_template.disconnect(try_to_write, app)
    assert response.status_code == 200
    # The fragment's template ran with the lock free and the support already visible.
    assert ("proposals/_support.html", 1) in seen
