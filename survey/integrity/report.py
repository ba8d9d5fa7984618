"""A round's integrity report (docs/interfaces.md#survey-integrity) from the database: fraud signals
(evaluator.integrity) over its responses and started-questionnaire counts, the chain check,
the per-link timelines, and the score with and without flagged responses."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select

from evaluator.integrity import IntegrityReport, IntegrityRules, detect
from evaluator.rules import load_ruleset
from survey.db import db
from survey.models import EntryLink, LinkStart, Response, School, SurveyRound


def integrity_rules(ruleset: str) -> IntegrityRules:
    return IntegrityRules.from_ruleset(load_ruleset(ruleset))


def vector(answers: dict) -> str:
    """The answers as one comparable string (item order fixed)."""
    return "|".join(f"{k}={answers[k]}" for k in sorted(answers))


def round_frames(rnd: SurveyRound) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, Any]]]:
    """(responses, starts, link code -> {school_code, group}) in evaluator.integrity's shape."""
    meta = {
        code: {"school_code": school or None, "group": group}
        for code, school, group in db.session.execute(
            select(EntryLink.code, School.code, EntryLink.group).outerjoin(School, EntryLink.school_id == School.id)
            .where(EntryLink.round_id == rnd.id))
    }
    rows = db.session.execute(
        select(Response.id, EntryLink.code, Response.group, Response.started_at, Response.submitted_at,
               Response.ip_hash, Response.ua_class, Response.answers)
        .join(EntryLink, EntryLink.id == Response.link_id).where(Response.round_id == rnd.id).order_by(Response.id))
    records = [
        {"response_id": rid, "link": code, "school_code": meta[code]["school_code"] or "", "group": group,
         "started_at": started, "submitted_at": submitted, "ip_hash": ip, "ua_class": ua, "vector": vector(answers)}
        for rid, code, group, started, submitted, ip, ua, answers in rows
    ]
    responses = pd.DataFrame.from_records(records, columns=["response_id", "link", "school_code", "group",
                                                            "started_at", "submitted_at", "ip_hash", "ua_class",
                                                            "vector"])
    for col in ("started_at", "submitted_at"):
        responses[col] = pd.to_datetime(responses[col], utc=True)
    starts = pd.DataFrame(db.session.execute(
        select(EntryLink.code.label("link"), LinkStart.ip_hash, LinkStart.ua_class, LinkStart.minute,
               LinkStart.starts, LinkStart.fresh)
        .join(EntryLink, EntryLink.id == LinkStart.link_id).where(EntryLink.round_id == rnd.id)).all(),
        columns=["link", "ip_hash", "ua_class", "minute", "starts", "fresh"])
    starts["minute"] = pd.to_datetime(starts["minute"], utc=True)
    return responses, starts, meta


def round_integrity(rnd: SurveyRound) -> tuple[IntegrityReport, pd.DataFrame, IntegrityRules]:
    """(report, the responses frame it was computed from, thresholds)."""
    rules = integrity_rules(rnd.ruleset)
    responses, starts, meta = round_frames(rnd)
    names = {s.code: s.name for s in rnd.schools}
    return detect(responses, starts, rules, names, meta), responses, rules


def integrity_dict(rnd: SurveyRound) -> dict[str, Any]:
    """The JSON of `round integrity` (docs/interfaces.md#survey-integrity), plus the chain head and length."""
    report, _, _ = round_integrity(rnd)
    out = report.to_dict(rnd.id)
    out["chain"] = {"head": rnd.chain_head, "length": rnd.chain_length}
    return out


def flagged_ids(rnd: SurveyRound) -> set[int]:
    return set(round_integrity(rnd)[0].by_response)


def verify_round(rnd: SurveyRound):
    """Recompute the round's tamper-evident log from the database (survey.integrity.chain)."""
    from survey.integrity.chain import ChainEntry, verify_chain

    rows = db.session.execute(
        select(Response.id, Response.chain_seq, Response.chain_hash, EntryLink.code, Response.instrument,
               Response.instrument_version, Response.answers, Response.started_at, Response.submitted_at)
        .outerjoin(EntryLink, EntryLink.id == Response.link_id).where(Response.round_id == rnd.id))
    entries = [ChainEntry(rid, seq, h, code or "", ins, ver, answers, started, submitted)
               for rid, seq, h, code, ins, ver, answers, started, submitted in rows]
    return verify_chain(entries, head=rnd.chain_head, length=rnd.chain_length)


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
