"""The live results page read from the stored cell sums (survey.services.cell_sums) equals the
respondent-level estimator — cold and after incremental refreshes, through the quality filters
(speeders, fast straight-liners, 不了解) and without the responses the integrity signals flag —
on SQLite and PostgreSQL; the page follows a new response, a new flag and a correction; two
refreshes never add the same responses twice."""

from __future__ import annotations

import threading
from collections import Counter
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select

from evaluator.groups import GROUPS
from evaluator.recognition import recognize
from survey.db import db
from survey.instruments import catalogue
from survey.integrity.report import without_flagged as respondent_without_flagged
from survey.models import LinkCell, Response
from survey.services import cell_sums
from survey.services.live_results import results_page
from survey.services.round_recognition import round_inputs, round_recognition, round_recognition_sql
from survey.services.rounds import round_recognition_rules
from tests.survey.helpers import link_for, login, make_round, make_user, store_answers
from tests.survey.test_recognition_sql import _same

TZ = "Asia/Shanghai"


def _answer_some(rnd, rng, per_link: tuple[int, int]) -> None:
    """Random answers on every link: ordinary ones, 不了解, speeders and fast straight-liners."""
    scale = list(catalogue().current_for("parent").scale)
    for ln in rnd.links:
        q = catalogue().current_for(ln.group)
        n = 1 if ln.group == "principal" else int(rng.integers(*per_link))
        for _ in range(n):
            kind = rng.random()
            if kind < 0.1:
                store_answers(ln, "满意", duration=float(rng.uniform(31, 59)))
            elif kind < 0.15:
                store_answers(ln, "不满意", duration=5)
            else:
                answers = {it.id: str(rng.choice(scale, p=[0.45, 0.25, 0.12, 0.1, 0.08])) for it in q.items}
                store_answers(ln, answers, duration=float(rng.uniform(40, 300)))


def _respondent_level(rnd) -> dict:
    """The estimator on the answers one by one, with what the page uses (round rules, texts)."""
    answers, frame = round_inputs(rnd, catalogue())
    texts = {it.id: it.text for q in catalogue().questionnaires for it in q.items}
    return recognize(answers, frame, round_recognition_rules(rnd), None, texts).to_dict()


def _check_page(rnd) -> None:
    page = results_page(rnd, catalogue(), TZ, flags_max_age=0)
    _same(_respondent_level(rnd), page.live.result)
    _same(round_recognition(rnd, catalogue()).to_dict(), round_recognition_sql(rnd, catalogue()).to_dict())
    rows = db.session.execute(select(Response.id, Response.group, Response.answers, Response.duration_seconds,
                                     Response.submitted_at).where(Response.round_id == rnd.id)).all()
    dist: dict[str, Counter] = {}
    for _, grp, answers, _, _ in rows:
        dist.setdefault(grp, Counter()).update(answers.values())
    assert page.live.distribution == {g: dict(dist[g]) for g in GROUPS if g in dist}
    days = Counter(t.astimezone(ZoneInfo(TZ)).date() for *_, t in rows)
    assert page.live.per_day == sorted(days.items())
    rules = round_recognition_rules(rnd)
    expected = []
    for rid, _, answers, dur, _ in sorted(rows):
        if dur < rules.speeder_seconds:
            expected.append((rid, "speeder"))
        elif dur < rules.straightline_fast_seconds and len(answers) >= rules.straightline_min_items \
                and len(set(answers.values())) == 1:
            expected.append((rid, "straightliner_fast"))
    assert [(d["response_id"], d["reason"]) for d in page.dropped] == expected
    ref = respondent_without_flagged(rnd, catalogue())
    assert page.without_flagged["excluded_flagged"] == ref["excluded_flagged"]
    if ref["excluded_flagged"]:
        _same(ref, {k: page.without_flagged[k] for k in ref})


def test_stored_cells_equal_the_respondent_level_estimate_cold_and_incrementally(app):
    rng = np.random.default_rng(11)
    with app.app_context():
        rnd = make_round()
        for ln in rnd.links:
            ln.quota = 100
        db.session.commit()
        _answer_some(rnd, rng, (2, 5))
        _check_page(rnd)  # cold: the first refresh sums everything
        db.session.commit()
        _answer_some(rnd, rng, (0, 3))  # some links get nothing new
        stuffed = link_for(rnd, "parent", "S03")
        for _ in range(20):  # a burst: flagged by the integrity signals
            store_answers(stuffed, "不满意")
        _check_page(rnd)  # incremental: only the new responses are added
        db.session.commit()
        assert results_page(rnd, catalogue(), TZ, 0).without_flagged["excluded_flagged"] >= 20


def test_the_page_follows_a_new_response_a_flag_and_a_correction(app, client):
    from survey.services.corrections import edit_school

    with app.app_context():
        rnd = make_round()
        make_user("boss", "admin")
        rid = rnd.id
        for g in GROUPS.values():
            for school in ("S01", "S02") if g.school_linked else (None,):
                ln = link_for(rnd, g.key, school)
                ln.quota = 100
                db.session.commit()
                store_answers(ln, "满意")
                store_answers(ln, "满意" if school != "S02" else "不满意")
    app.config["LIVE_FLAGS_MAX_AGE_SECONDS"] = 0
    login(client, "boss")

    def shown() -> tuple[str, str]:
        page = client.get(f"/admin/rounds/{rid}/results").get_data(as_text=True)
        score = page[page.index('id="score">') + len('id="score">'):]
        block = page[page.index('id="without-flagged"'):]
        return score[: score.index("<")], block[: block.index("</div></div>")]

    def expected() -> str:
        with app.app_context():
            from survey.models import SurveyRound

            return f"{100 * _respondent_level(db.session.get(SurveyRound, rid))['score']:.1f}%"

    before, _ = shown()
    assert before == expected()
    with app.app_context():
        store_answers(link_for(db.session.get(type(rnd), rid), "parent", "S01"), "不满意")
    added, _ = shown()
    assert added == expected() and added != before
    with app.app_context():
        stuffed = link_for(db.session.get(type(rnd), rid), "student", "S02")
        for _ in range(20):
            store_answers(stuffed, "满意")
    flagged, block = shown()
    with app.app_context():
        from survey.integrity.report import flagged_ids

        n_flagged = len(flagged_ids(db.session.get(type(rnd), rid)))
    assert flagged == expected() and n_flagged >= 20 and f"不计 {n_flagged} 份带信号的回答" in block, block
    with app.app_context():
        r = db.session.get(type(rnd), rid)
        school = next(s for s in r.schools if s.code == "S02")
        edit_school(r, school, by=None, name=school.name, students_primary=school.students_primary * 4,
                    students_junior=school.students_junior * 4, students_senior=school.students_senior,
                    teachers=school.teachers)
        db.session.commit()
    corrected, _ = shown()
    assert corrected == expected() and corrected != flagged


def test_flags_are_kept_until_they_are_older_than_the_maximum_age(app):
    with app.app_context():
        rnd = make_round()
        stuffed = link_for(rnd, "parent", "S01")
        stuffed.quota = 100
        db.session.commit()
        for _ in range(20):
            store_answers(stuffed, "不满意")
        assert results_page(rnd, catalogue(), TZ, 3600).without_flagged["excluded_flagged"] == 20
        db.session.commit()
        for _ in range(20):
            store_answers(link_for(rnd, "parent", "S02"), "不满意")
        kept = results_page(rnd, catalogue(), TZ, 3600).without_flagged
        assert kept["excluded_flagged"] == 20 and kept["as_of"] is not None  # the page says as of when
        assert results_page(rnd, catalogue(), TZ, 0).without_flagged["excluded_flagged"] == 40
        db.session.commit()
        for _ in range(20):
            store_answers(link_for(rnd, "parent", "S03"), "不满意")
        # above the size where the page computes them itself, it keeps the integrity page's
        assert results_page(rnd, catalogue(), TZ, 0, flags_max_responses=10).without_flagged["excluded_flagged"] == 40
        from survey.integrity.report import flagged_ids

        cell_sums.store_flags(rnd, round_recognition_rules(rnd), flagged_ids(rnd))
        page = results_page(rnd, catalogue(), TZ, 0, flags_max_responses=10)
        assert page.without_flagged["excluded_flagged"] == 60
        _same(respondent_without_flagged(rnd, catalogue()), {k: page.without_flagged[k] for k in
                                                             respondent_without_flagged(rnd, catalogue())})


def _link_sums(rnd) -> list[tuple]:
    return [tuple(r) for r in db.session.execute(
        select(LinkCell.link_id, LinkCell.responses, LinkCell.all_n, LinkCell.kept_a)
        .where(LinkCell.round_id == rnd.id).order_by(LinkCell.link_id))]


def test_a_refresh_from_a_watermark_another_worker_moved_adds_nothing(app):
    rng = np.random.default_rng(3)
    with app.app_context():
        rnd = make_round()
        for ln in rnd.links:
            ln.quota = 100
        db.session.commit()
        _answer_some(rnd, rng, (1, 3))
        rules = round_recognition_rules(rnd)
        head = cell_sums.refresh(rnd, rules)
        db.session.commit()
        once = _link_sums(rnd)
        # a second worker that read the state before the first one's swap:
        assert not cell_sums.advance(rnd, rules, seen=(0, ""), head=head)
        assert cell_sums.refresh(rnd, rules) == head
        assert _link_sums(rnd) == once and sum(r[1] for r in once) == rnd.chain_length


def test_two_workers_refreshing_at_once_count_each_response_once(app):
    rng = np.random.default_rng(5)
    with app.app_context():
        # PostgreSQL: the second worker waits on the cell_states row, then finds the watermark
        # moved; SQLite: its single writer makes the second wait for the first's commit.
        rnd = make_round()
        rid = rnd.id
        for ln in rnd.links:
            ln.quota = 100
        db.session.commit()
        _answer_some(rnd, rng, (2, 5))
        expected = round_recognition(rnd, catalogue()).to_dict()
    barrier, errors = threading.Barrier(2), []

    def worker() -> None:
        try:
            with app.app_context():
                from survey.models import SurveyRound

                r = db.session.get(SurveyRound, rid)
                barrier.wait(timeout=10)
                cell_sums.refresh(r, round_recognition_rules(r))
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    with app.app_context():
        from survey.models import SurveyRound

        _same(expected, round_recognition_sql(db.session.get(SurveyRound, rid), catalogue()).to_dict())
