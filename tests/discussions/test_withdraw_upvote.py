"""A member takes back an upvote while comments are open, with and without htmx."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from participation.discussions.models import CommentVote
from participation.extensions import db
from tests.conftest import START, client_for, comment, comment_id, open_topic, post


def upvotes(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CommentVote))


def test_an_upvote_is_withdrawn_while_comments_are_open(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
    topic_id = open_topic(lin, community, consultation_id)
    target = comment_id(comment(lin, community, topic_id, "加装路灯", "support"))
    page = f"/c/{community.id}/topics/{topic_id}"
    url = f"/c/{community.id}/comments/{target}/upvote"
    assert post(wang, url, page=page).status_code == 303
    html = wang.get(page).get_data(as_text=True)
    assert f'action="{url}/withdraw"' in html
    # Without JavaScript: back to the comment, the upvote gone.
    response = post(wang, url + "/withdraw", page=page)
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"#comment-{target}")
    assert upvotes(app) == 0
    assert post(wang, url + "/withdraw", page=page).status_code == 303  # a second click
    assert upvotes(app) == 0
    # With htmx: the form comes back in its new state.
    headers = {"HX-Request": "true"}
    added = post(wang, url, page=page, headers=headers).get_data(as_text=True)
    assert f'hx-post="{url}/withdraw"' in added and upvotes(app) == 1
    taken = post(wang, url + "/withdraw", page=page, headers=headers).get_data(as_text=True)
    assert f'hx-post="{url}"' in taken and "/withdraw" not in taken
    assert upvotes(app) == 0
    post(wang, url, page=page)
    at(START + timedelta(days=43))  # the results notice: comments and upvotes are closed
    assert post(wang, url + "/withdraw", page=page).status_code == 403
    assert upvotes(app) == 1
