"""A round's integrity report (docs/interfaces.md#survey-integrity) from the database: fraud signals
(evaluator.integrity) over its responses and started-questionnaire counts, the chain check,
the per-link timelines, and the score with and without flagged responses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from json import loads
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Text, cast, select

from evaluator.integrity import RESPONSE_COLUMNS, IntegrityReport, IntegrityRules, Signals
from evaluator.rules import load_ruleset
from survey.db import db
from survey.models import EntryLink, LinkStart, Response, School, SurveyRound

STREAM_ROWS = 5_000  # rows fetched at a time (a server-side cursor on PostgreSQL)


def integrity_rules(ruleset: str) -> IntegrityRules:
    return IntegrityRules.from_ruleset(load_ruleset(ruleset))


def vector(answers: dict) -> str:
    """The answers as one comparable string (item order fixed): ``id=answer|…`` by item id."""
    items = sorted(answers.items())  # by id (ids are unique: the answers are never compared)
    try:
        return "|".join(map("=".join, items))  # the usual all-text answers, fast
    except TypeError:  # an unanswered item (None) or a number: its str()
        return "|".join([f"{k}={v}" for k, v in items])


def link_meta(rnd: SurveyRound) -> dict[int, tuple[str, str | None, str]]:
    """Link id -> (code, school code or None, group) of the round's links."""
    return {lid: (code, school or None, group) for lid, code, school, group in db.session.execute(
        select(EntryLink.id, EntryLink.code, School.code, EntryLink.group)
        .outerjoin(School, EntryLink.school_id == School.id).where(EntryLink.round_id == rnd.id))}


def starts_frame(rnd: SurveyRound, min_fresh: int = 0) -> pd.DataFrame:
    """The round's started-questionnaire counts (rows with at least ``min_fresh`` fresh starts)."""
    starts = pd.DataFrame(db.session.execute(
        select(EntryLink.code.label("link"), LinkStart.ip_hash, LinkStart.ua_class, LinkStart.minute,
               LinkStart.starts, LinkStart.fresh)
        .join(EntryLink, EntryLink.id == LinkStart.link_id)
        .where(EntryLink.round_id == rnd.id, LinkStart.fresh >= min_fresh).order_by(LinkStart.id)).all(),
        columns=["link", "ip_hash", "ua_class", "minute", "starts", "fresh"])
    starts["minute"] = pd.to_datetime(starts["minute"], utc=True)
    return starts


def round_frames(rnd: SurveyRound) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, Any]]]:
    """(responses, starts, link code -> {school_code, group}) in evaluator.integrity's shape: the
    whole round in memory (the reference ``round_signals`` equals; the tests and bench/flags.py)."""
    meta = {code: {"school_code": school, "group": group} for code, school, group in link_meta(rnd).values()}
    rows = db.session.execute(
        select(Response.id, EntryLink.code, Response.group, Response.started_at, Response.submitted_at,
               Response.ip_hash, Response.ua_class, Response.answers)
        .join(EntryLink, EntryLink.id == Response.link_id).where(Response.round_id == rnd.id).order_by(Response.id))
    records = [
        {"response_id": rid, "link": code, "school_code": meta[code]["school_code"] or "", "group": group,
         "started_at": started, "submitted_at": submitted, "ip_hash": ip, "ua_class": ua, "vector": vector(answers)}
        for rid, code, group, started, submitted, ip, ua, answers in rows
    ]
    responses = pd.DataFrame.from_records(records, columns=list(RESPONSE_COLUMNS))
    for col in ("started_at", "submitted_at"):
        responses[col] = pd.to_datetime(responses[col], utc=True)
    return responses, starts_frame(rnd), meta


def round_signals(rnd: SurveyRound, rules: IntegrityRules, answered: Answered | None = None,
                  export: Callable[[list, list[dict]], None] | None = None) -> Signals:
    """The fraud signals over the round read link by link (evaluator.integrity.Signals): one
    link's responses in memory at a time, only the columns the signals read, the answers
    only as their vector; equal to ``detect`` over ``round_frames``. ``answered`` collects
    on the way the items some response answered; ``export(rows, answers)`` receives each
    link's rows with ``EXPORT_COLUMNS`` after the signals' ones, and their answers decoded:
    the export reads the round once for its rows and their flags (survey.services.exports)."""
    links = link_meta(rnd)
    meta = {code: {"school_code": school, "group": group} for code, school, group in links.values()}
    signals = Signals(starts_frame(rnd, rules.farming_min_fresh_starts), rules,
                      {s.code: s.name for s in rnd.schools}, meta)
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        rows = _pg_rows(conn, rnd.id, export is not None)
    else:
        stmt = select(Response.id, Response.link_id, Response.group, Response.started_at, Response.submitted_at,
                      Response.ip_hash, Response.ua_class, cast(Response.answers, Text))
        if export is not None:
            stmt = stmt.add_columns(School.code, Response.submitted_at.label("submitted"), Response.duration_seconds, Response.instrument,
                                    Response.instrument_version).outerjoin(School, Response.school_id == School.id)
        rows = conn.execution_options(yield_per=STREAM_ROWS).execute(
            stmt.where(Response.round_id == rnd.id).order_by(Response.link_id, Response.id))
    for link_id, chunk in groupby(rows, key=itemgetter(1)):
        chunk = list(chunk)
        ids, _, groups, started, submitted, ips, uas, answers = list(zip(*chunk, strict=True))[:8]
        answers = [a if isinstance(a, dict) else loads(a) for a in answers]  # json text elsewhere than PostgreSQL
        if answered is not None:
            answered.add(ids, answers)
        if export is not None:
            export(chunk, answers)
        code, school, _ = links[link_id]
        signals.add_link(pd.DataFrame({
            "response_id": ids, "link": code, "school_code": school or "", "group": groups,
            "started_at": _times(started), "submitted_at": _times(submitted),
            "ip_hash": ips, "ua_class": uas, "vector": [vector(a) for a in answers]}), ids)
    return signals


# What round_signals(export=…) adds to each row, after id, link_id, group, started_at, submitted_at,
# ip_hash, ua_class, answers: the response's school code (None: none), submitted_at as a datetime, …
EXPORT_COLUMNS = ("school_code", "submitted_at", "duration_seconds", "instrument", "instrument_version")


class Answered:
    """The ids of the items answered (a value other than JSON null) by at least one response
    with an id up to ``last_id``: what ``survey.services.exports.used_items`` asks the
    database's JSON functions, here from the answers the signals decode anyway."""

    def __init__(self, last_id: int | None = None) -> None:
        self.last_id, self.items = last_id, set()  # last_id None: every response

    def add(self, ids: tuple, answers: list[dict]) -> None:
        """One link's responses (ids and answers). Only ids not yet known are looked at value by
        value: after the first links of each group, a set union per link."""
        if self.last_id is not None and ids and max(ids) > self.last_id:
            answers = [a for rid, a in zip(ids, answers, strict=True) if rid <= self.last_id]
        new = set().union(*answers) - self.items
        for k in new:
            if any(a.get(k) is not None for a in answers):
                self.items.add(k)


def _pg_rows(conn, round_id: int, export: bool = False):
    """round_signals' rows on PostgreSQL straight from a psycopg server-side cursor, the times as
    microseconds since the epoch (a tenth of the client's time of SQLAlchemy's rows with datetimes),
    the answers decoded by ``fast_json``; with ``export``, the ``EXPORT_COLUMNS`` too."""
    from survey.services.exports import use_fast_json

    extra = (", s.code, r.submitted_at, r.duration_seconds, r.instrument, r.instrument_version" if export else "")
    join = " LEFT JOIN schools s ON s.id = r.school_id" if export else ""
    with conn.connection.driver_connection.cursor(name=f"integrity_{round_id}") as cur:
        use_fast_json(cur)
        cur.itersize = STREAM_ROWS // 2 if export else STREAM_ROWS  # the export's rows are twice as wide
        cur.execute('SELECT r.id, r.link_id, r."group", (extract(epoch FROM r.started_at) * 1000000)::bigint, '
                    '(extract(epoch FROM r.submitted_at) * 1000000)::bigint, r.ip_hash, r.ua_class, r.answers'
                    f"{extra} FROM responses r{join} WHERE r.round_id = %s ORDER BY r.link_id, r.id", (round_id,))
        yield from cur


def _times(values: tuple) -> pd.DatetimeIndex:
    """Datetimes, or microseconds since the epoch, as UTC times."""
    if values and isinstance(values[0], int):
        return pd.to_datetime(np.fromiter(values, dtype=np.int64, count=len(values)), unit="us", utc=True)
    return pd.to_datetime(values, utc=True)


@dataclass(frozen=True)
class LinkActivity:
    """What the integrity page's timelines need of a round: responses per link (most first)
    and the first and last submission."""

    sizes: dict[str, int]
    first_at: pd.Timestamp | None
    last_at: pd.Timestamp | None


def round_integrity(rnd: SurveyRound, answered: Answered | None = None
                    ) -> tuple[IntegrityReport, LinkActivity, IntegrityRules]:
    """(report, the round's activity per link, thresholds); ``answered``: see ``round_signals``."""
    rules = integrity_rules(rnd.ruleset)
    signals = round_signals(rnd, rules, answered)
    busiest = sorted(signals.link_sizes, key=lambda k: (-signals.link_sizes[k], signals.link_first[k]))
    activity = LinkActivity({k: signals.link_sizes[k] for k in busiest}, signals.first_at, signals.last_at)
    return signals.report(), activity, rules


def link_times(link: EntryLink) -> pd.Series:
    """The submission times of one link's responses (a timeline)."""
    return pd.Series(pd.to_datetime(db.session.scalars(
        select(Response.submitted_at).where(Response.link_id == link.id, Response.round_id == link.round_id)).all(),
        utc=True), dtype="datetime64[ns, UTC]")


def integrity_dict(rnd: SurveyRound) -> dict[str, Any]:
    """The JSON of `round integrity` (docs/interfaces.md#survey-integrity), plus the chain head and length."""
    report, _, _ = round_integrity(rnd)
    out = report.to_dict(rnd.id)
    out["chain"] = {"head": rnd.chain_head, "length": rnd.chain_length}
    return out


def flagged_ids(rnd: SurveyRound) -> set[int]:
    return set(round_integrity(rnd)[0].by_response)


def verify_round(rnd: SurveyRound):
    """Recompute the round's tamper-evident log from the database (survey.integrity.chain).

    The responses and the round's head are read in one statement (one snapshot: a chaining
    batch committing meanwhile cannot pair new links with an old head); responses without a
    place submitted in the last ``CHAIN_PENDING_SECONDS`` are pending, not inserted."""
    from datetime import timedelta

    from flask import current_app

    from survey.integrity.chain import ChainEntry, verify_chain
    from survey.models import utcnow

    rows = db.session.execute(
        select(Response.id, Response.chain_seq, Response.chain_hash, EntryLink.code, Response.instrument,
               Response.instrument_version, Response.answers, Response.started_at, Response.submitted_at,
               SurveyRound.chain_head, SurveyRound.chain_length)
        .outerjoin(EntryLink, EntryLink.id == Response.link_id).join(SurveyRound, SurveyRound.id == Response.round_id)
        .where(Response.round_id == rnd.id)).all()
    entries = [ChainEntry(rid, seq, h, code or "", ins, ver, answers, started, submitted)
               for rid, seq, h, code, ins, ver, answers, started, submitted, _head, _length in rows]
    head, length = (rows[0][9], rows[0][10]) if rows else (rnd.chain_head, rnd.chain_length)
    grace = float(current_app.config.get("CHAIN_PENDING_SECONDS", 60))
    return verify_chain(entries, head=head, length=length or 0, pending_since=utcnow() - timedelta(seconds=grace))


def without_flagged(rnd: SurveyRound, catalogue, rules=None, flagged: set | None = None) -> dict[str, Any]:
    """The round's social-recognition figure computed without the flagged responses
    (report.json ``recognition.without_flagged``): score, ci, se, n_kept, status and how many
    flagged responses were left out; ``error`` instead when it cannot be computed."""
    from evaluator.errors import InputError
    from evaluator.recognition import recognize
    from survey.services.exports import responses_frame
    from survey.services.rounds import recognition_rules, sampling_frame

    flagged = flagged_ids(rnd) if flagged is None else flagged
    answers = responses_frame(rnd, catalogue, flags=False)
    answers = answers[~answers["response_id"].isin(flagged)]
    answers = answers.drop(columns=["response_id", "submitted_at", "instrument"])
    answers["school_code"] = answers["school_code"].where(answers["school_code"] != "", None)
    texts = {it.id: it.text for q in catalogue.questionnaires for it in q.items}
    out: dict[str, Any] = {"excluded_flagged": len(flagged)}
    try:
        result = recognize(answers, sampling_frame(rnd.schools), rules or recognition_rules(rnd.ruleset), None,
                           texts).to_dict()
    except InputError as exc:
        out["error"] = str(exc)
        return out
    out.update({k: result.get(k) for k in ("score", "ci", "se", "df", "n_kept", "n_dropped", "status", "borderline")})
    return out
