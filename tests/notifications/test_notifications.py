"""Notifications: the bell, marking as read, and e-mail where SMTP is configured."""
from __future__ import annotations

import re
from datetime import timedelta

from participation.accounts.models import User
from participation.extensions import db
from tests.accounts.test_accounts import SMTPSink
from tests.conftest import (
    START,
    client_for,
    comment,
    comment_id,
    open_topic,
    post,
)


def test_notifications_bell_and_mark_as_read(app, place, at):
    community, people, consultation_id = place
    at(START + timedelta(days=1))
    lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
    topic_id = open_topic(lin, community, consultation_id)
    mine = comment_id(comment(lin, community, topic_id, "第一条", "support"))
    comment(wang, community, topic_id, "我来回复", parent=mine)
    html = lin.get("/").get_data(as_text=True)
    assert re.search(r'class="count">1<', html)
    assert "王师傅回复了您" in lin.get("/notifications").get_data(as_text=True)
    post(lin, "/notifications/read", page="/notifications")
    assert 'class="count"' not in lin.get("/").get_data(as_text=True)


def test_notifications_are_mailed_where_smtp_is_configured(app, place, at, factory):

    community, people, consultation_id = place
    at(START + timedelta(days=1))
    with app.app_context():
        db.session.get(User, people["lin"].id).email = "lin@example.cn"
        db.session.commit()
    sink = SMTPSink()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port,
                          BASE_URL="https://linli.example.gov.cn")
        lin, wang = client_for(app, people["lin"]), client_for(app, people["wang"])
        topic_id = open_topic(lin, community, consultation_id)
        mine = comment_id(comment(lin, community, topic_id, "第一条", "support"))
        comment(wang, community, topic_id, "我来回复", parent=mine)
        messages = sink.wait()
    finally:
        sink.close()
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "lin@example.cn"
    assert "王师傅回复了您" in message.get_content()
    assert f"https://linli.example.gov.cn/c/{community.id}/topics/{topic_id}#comment-" in \
        message.get_content()
