"""The integrity signals read from the database link by link (survey.integrity.report.round_signals,
used by round_integrity) equal the signals over the whole round in one frame, as computed before
the streaming reading (tests/evaluator/integrity_reference.py over round_frames), on a generated
round with planted fraud of every kind, on every configured database."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import insert

from evaluator.integrity import KINDS, detect
from survey.db import db
from survey.integrity.report import (
    integrity_rules,
    link_times,
    round_frames,
    round_integrity,
    round_signals,
)
from survey.models import LinkStart, Response, SurveyRound
from tests.evaluator.integrity_reference import detect_reference
from tests.evaluator.test_integrity_parts import planted
from tests.survey.helpers import link_for, make_round

ROWS = [[f"S{i:02d}", f"学校{i}", "九年一贯制", 800, 500, 40, 30] for i in range(10)]


def load_planted(seed: int) -> int:
    """A round holding the planted responses and starts (tests/evaluator/test_integrity_parts.py),
    inserted in the frame's shuffled order: ids follow neither the links nor the time."""
    rnd = make_round(rows=ROWS)
    responses, starts, _ = planted(seed)

    def link(code: str):
        if code == "GHOST":
            return link_for(rnd, "npc_deputy")
        school, group = code.split("-")
        return link_for(rnd, group, None if school == "C" else school)

    links = {code: link(code) for code in set(responses["link"]) | set(starts["link"])}
    rows = []
    for i, r in enumerate(responses.itertuples(index=False)):
        ln = links[r.link]
        answers = dict(part.split("=", 1) for part in r.vector.split("|")) if r.vector else {}
        rows.append({"round_id": rnd.id, "link_id": ln.id, "school_id": ln.school_id, "group": r.group,
                     "instrument": "social", "instrument_version": 1, "answers": answers,
                     "started_at": r.started_at.floor("us").to_pydatetime(), "submitted_at": r.submitted_at.floor("us").to_pydatetime(),
                     "duration_seconds": (r.submitted_at - r.started_at).total_seconds(),
                     "idempotency_key": f"k{i}", "browser_hash": f"b{i}", "ip_hash": r.ip_hash, "ua_class": r.ua_class,
                     "counted": True, "chain_seq": None})
    db.session.execute(insert(Response), rows)
    db.session.execute(insert(LinkStart), [
        {"link_id": links[s.link].id, "ip_hash": s.ip_hash, "ua_class": s.ua_class,
         "minute": s.minute.to_pydatetime(), "starts": int(s.starts), "fresh": int(s.fresh)}
        for s in starts.itertuples(index=False)])
    db.session.commit()
    return rnd.id


def test_round_read_link_by_link_equals_the_whole_round(app):
    with app.app_context():
        rid = load_planted(5)
        rnd = db.session.get(SurveyRound, rid)
        responses, starts, meta = round_frames(rnd)
        names = {s.code: s.name for s in rnd.schools}
        rules = integrity_rules(rnd.ruleset)
        ref = detect_reference(responses, starts, rules, names, meta)
        assert {f["kind"] for f in ref.flags} == set(KINDS)
        assert any(f["responses"] == 0 for f in ref.flags) and any(f["school_code"] is None for f in ref.flags)
        report, activity, _ = round_integrity(rnd)
        assert report.responses == ref.responses == len(responses)
        assert report.flags == ref.flags
        assert report.by_response == ref.by_response
        assert report.flagged_bins == ref.flagged_bins
        assert detect(responses, starts, rules, names, meta).flags == ref.flags
        # the timelines' inputs without the frame: responses per link, the first and last submission
        counts = responses["link"].value_counts()
        assert activity.sizes == counts.to_dict()
        assert list(activity.sizes.values()) == sorted(counts, reverse=True)
        assert (activity.first_at, activity.last_at) == (responses["submitted_at"].min(), responses["submitted_at"].max())
        ln = next(ln for ln in rnd.links if ln.code == ref.flags[0]["link"])
        mine = responses.loc[responses["link"] == ln.code, "submitted_at"]
        assert sorted(link_times(ln)) == sorted(mine)


def test_a_round_without_responses(app):
    with app.app_context():
        rnd = make_round(rows=ROWS)
        report, activity, _ = round_integrity(rnd)
        assert (report.responses, report.flags, report.by_response, activity.sizes) == (0, [], {}, {})
        assert activity.first_at is None
        signals = round_signals(rnd, integrity_rules(rnd.ruleset))
        assert signals.report().flags == detect_reference(*round_frames(rnd)[:2], integrity_rules(rnd.ruleset)).flags
        assert isinstance(link_times(rnd.links[0]), pd.Series) and not len(link_times(rnd.links[0]))
