"""The progress page's stored responses per link come from the live results' cell sums plus the
responses above the watermark (issue 12 item 2: O(links), no COUNT over every response); they
must equal a direct COUNT per link at every moment: before the first refresh, after it, with
responses arriving after it and with a response not chained yet."""

from __future__ import annotations

from sqlalchemy import func, select, update

from survey.db import db
from survey.models import EntryLink, LinkCell, Response
from survey.services import cell_sums
from survey.services.live_results import page_rules
from survey.services.progress import progress, stored_per_link
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers


def _counted(rnd) -> dict[tuple, int]:
    """The reference: a COUNT per link over the responses (the old progress page)."""
    counts = dict(db.session.execute(select(Response.link_id, func.count(Response.id))
                                     .where(Response.round_id == rnd.id).group_by(Response.link_id)).all())
    return {(ln.school_id, ln.group): counts.get(ln.id, 0)
            for ln in db.session.scalars(select(EntryLink).where(EntryLink.round_id == rnd.id))}


def _shown(rnd) -> dict[tuple, int]:
    return {(school_id, group): n for school_id, group, _, _, n in stored_per_link(rnd)}


def roomy_round():
    """A test round whose links have room for every response the tests store."""
    rnd = make_round()
    for ln in rnd.links:
        ln.quota = 100
    db.session.commit()
    return rnd


def _store(rnd) -> None:
    for group, school, n, duration in (("parent", "S01", 3, 120), ("parent", "S01", 2, 5), ("student", "S03", 2, 90),
                                       ("npc_deputy", None, 1, 3)):
        for _ in range(n):
            store_answers(link_for(rnd, group, school), "满意", duration=duration)


def test_stored_per_link_equals_a_count_before_and_after_refreshes(app):
    with app.app_context():
        rnd = roomy_round()
        _store(rnd)  # speeders included (duration 5 and 3: stored, no quota place)
        assert _shown(rnd) == _counted(rnd)  # before any refresh: everything is above the watermark 0
        cell_sums.refresh(rnd, page_rules(rnd))
        db.session.commit()
        assert _shown(rnd) == _counted(rnd)  # from the cells alone
        _store(rnd)
        assert _shown(rnd) == _counted(rnd)  # cells + the responses after the watermark
        last = db.session.scalar(select(func.max(Response.id)).where(Response.round_id == rnd.id))
        db.session.execute(update(Response).where(Response.id == last).values(chain_seq=None))
        assert _shown(rnd) == _counted(rnd)  # a response not chained yet still counts, once
        db.session.rollback()
        cell_sums.refresh(rnd, page_rules(rnd))
        db.session.commit()
        assert _shown(rnd) == _counted(rnd)
        prog = progress(rnd)
        s01 = next(r for r in prog.rows if r.school_code == "S01")
        assert s01.stored["parent"] == 10 and s01.cells["parent"][0] == 6  # 4 speeders stored, no quota place


def test_the_page_reads_the_cells_not_the_responses(app, client):
    """After a refresh the stored figure is the cells' (a tampered cell shows), which is what
    makes the page independent of the number of responses."""
    with app.app_context():
        rnd = make_round()
        make_user("staff1", "staff", ("110101",))
        link = link_for(rnd, "parent", "S01")
        for _ in range(2):
            store_answers(link, "满意", duration=120)
        cell_sums.refresh(rnd, page_rules(rnd))
        db.session.execute(update(LinkCell).where(LinkCell.link_id == link.id).values(responses=LinkCell.responses + 40))
        db.session.commit()
        round_id = rnd.id
    assert login(client, "staff1").status_code == 302
    page = client.get(f"/admin/rounds/{round_id}/progress").get_data(as_text=True)
    assert 'data-stored="42"' in page
