"""Transactions by outcome (survey.db): services refuse before they change anything, a refusal
commits nothing even when the view catches it, savepoints undo half-done work, and a request
that never used the session costs no database round trip."""

from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import event

from survey.db import db, savepoint
from survey.models import EntryLink
from survey.services import ServiceError
from survey.services.rounds import set_quotas
from tests.survey.conftest import csrf_from
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers


def test_quota_below_collected_is_refused_naming_school_and_group_before_any_change(app):
    with app.app_context():
        rnd = make_round()
        ln, other = link_for(rnd, "parent", "S01"), link_for(rnd, "student", "S02")
        store_answers(ln, "满意")
        store_answers(ln, "满意")
        before = other.quota
        with pytest.raises(ServiceError) as err:
            set_quotas(rnd, {other.id: before + 5, ln.id: 1})
        assert "城关第一小学" in str(err.value) and "家长" in str(err.value) and "2" in str(err.value)
        assert other.quota == before  # validated first: nothing mutated, not even in the session
        set_quotas(rnd, {ln.id: 2})  # equal to what is collected is fine
        assert ln.quota == 2


def test_quota_below_collected_from_the_page_saves_nothing(app, client):
    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        ln, other = link_for(rnd, "parent", "S01"), link_for(rnd, "student", "S02")
        store_answers(ln, "满意")
        rid, lid, oid, before = rnd.id, ln.id, other.id, other.quota
    login(client, "boss")
    token = csrf_from(client.get(f"/admin/rounds/{rid}").get_data(as_text=True))
    page = client.post(f"/admin/rounds/{rid}/quotas", follow_redirects=True,
                       data={"csrf_token": token, f"quota-{oid}": "9", f"quota-{lid}": "0"}).get_data(as_text=True)
    assert "城关第一小学·家长" in page and "未保存任何修改" in page
    with app.app_context():
        assert db.session.get(EntryLink, oid).quota == before
        assert db.session.get(EntryLink, lid).quota != 0


def _routes(app, link_id: int) -> None:
    """Views that change a quota and then succeed, catch a refusal, let it escape or abort."""

    def change():
        db.session.get(EntryLink, link_id).quota = 4321
        db.session.flush()

    def ok():
        change()
        return "ok"

    def caught():
        change()
        try:
            raise ServiceError("拒绝")
        except ServiceError as exc:
            return f"表单：{exc}", 200  # a 200 page: the status would have committed

    def escaped():
        change()
        raise ServiceError("配额不足，未保存")

    def aborted():
        change()
        abort(409)

    for view in (ok, caught, escaped, aborted):
        app.add_url_rule(f"/_tx/{view.__name__}", view.__name__, view)


@pytest.mark.parametrize("route, status, stored", [
    ("ok", 200, True), ("caught", 200, False), ("escaped", 422, False), ("aborted", 409, False)])
def test_the_request_commits_by_outcome_not_by_status(app, client, route, status, stored):
    with app.app_context():
        ln = link_for(make_round(), "parent", "S01")
        lid, before = ln.id, ln.quota
    _routes(app, lid)
    resp = client.get(f"/_tx/{route}")
    assert resp.status_code == status
    if route == "escaped":
        assert "配额不足，未保存" in resp.get_data(as_text=True)  # the service's message on the error page
    with app.app_context():
        assert db.session.get(EntryLink, lid).quota == (4321 if stored else before)


def test_a_request_that_never_uses_the_session_makes_no_round_trip(app, client):
    with app.app_context():
        engine = db.engine
    checkouts = []

    def count(*_args):
        checkouts.append(1)

    event.listen(engine, "checkout", count)
    for path in ("/favicon.ico", "/static/favicon.ico"):
        with client.get(path) as resp:
            assert resp.status_code == 200
    assert checkouts == []
    with app.app_context():  # the counter does see a request that does use it
        client.get("/login")
        make_user("someone", "admin")
    event.remove(engine, "checkout", count)
    assert checkouts


def test_savepoint_undoes_only_its_own_writes(app):
    with app.app_context():
        rnd = make_round()
        a, b = link_for(rnd, "parent", "S01"), link_for(rnd, "student", "S02")
        a_id, b_id, b_before = a.id, b.id, b.quota
        a.quota = 111
        with pytest.raises(ServiceError):
            with savepoint():
                b.quota = 222
                db.session.flush()
                raise ServiceError("半途失败")
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(EntryLink, a_id).quota == 111
        assert db.session.get(EntryLink, b_id).quota == b_before


def test_a_released_savepoint_that_began_the_transaction_still_rolls_back_with_it(app):
    """pysqlite begins lazily: without the explicit BEGIN, RELEASE would commit on SQLite."""
    with app.app_context():
        ln = link_for(make_round(), "parent", "S01")
        lid, before = ln.id, ln.quota
        db.session.commit()
        db.session.close()
        with savepoint():
            db.session.get(EntryLink, lid).quota = 999
            db.session.flush()
        db.session.rollback()
        db.session.close()
        assert db.session.get(EntryLink, lid).quota == before


def _poison_ruleset_use() -> None:
    """A used rule-set file recorded with other content: opening a round fails at its very end
    (pinning), after the county, round, schools and links were added."""
    from survey.models import RulesetUse

    db.session.merge(RulesetUse(file="national-2017.yaml", sha256="0" * 64))
    db.session.commit()


def test_a_roster_import_failing_at_the_end_leaves_nothing_of_itself_in_the_request(app):
    import io

    from evaluator.errors import InputError
    from survey.instruments import catalogue
    from survey.models import County, School, SurveyRound
    from survey.services.rounds import create_round
    from tests.survey.conftest import ROSTER_ROWS, roster_xlsx

    with app.app_context():
        make_round("110102")  # freezes the real file first
        _poison_ruleset_use()
        kept = make_user("kept", "admin").id
        db.session.get(SurveyRound, 1).name = "本请求中较早的修改"
        with pytest.raises(InputError):
            create_round(county_code="110105", county_name="新县", name="失败的轮次",
                         roster_source=io.BytesIO(roster_xlsx(ROSTER_ROWS)), roster_filename="名单.xlsx",
                         catalogue=catalogue())
        assert not [o for o in db.session.new if isinstance(o, (SurveyRound, School, EntryLink))]
        db.session.commit()  # the request's earlier change still commits, the half-round does not
        assert db.session.scalar(db.select(db.func.count()).select_from(SurveyRound)) == 1
        assert db.session.scalar(db.select(County).where(County.code == "110105")) is None
        assert db.session.get(SurveyRound, 1).name == "本请求中较早的修改"
        assert kept


def test_copying_a_round_failing_at_the_end_leaves_nothing_of_the_copy(app):
    from evaluator.errors import InputError
    from survey.instruments import catalogue
    from survey.models import RoundChange, SurveyRound
    from survey.services.corrections import copy_round

    with app.app_context():
        rnd = make_round()
        _poison_ruleset_use()
        with pytest.raises(InputError):
            copy_round(rnd, by=None, name="明年", catalogue=catalogue())
        db.session.commit()
        assert db.session.scalar(db.select(db.func.count()).select_from(SurveyRound)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(RoundChange)) == 0
