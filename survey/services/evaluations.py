"""Evaluations: run the evaluator on uploaded inputs, keep everything for audit, record
rectification and compare two runs of a county. Explicit arguments; add and flush, never commit.

The workbook decides the county (county sheet ``county_code``); the user may only evaluate a
county they can see (admin: any, and may register a new county under the workbook's name).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import re
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select

from evaluator.errors import InputError
from evaluator.questionnaire import Catalogue
from evaluator.recognition import RecognitionResult, RecognitionRules, recognize, recognize_file
from evaluator.rules import RuleSet, available_rulesets, load_ruleset
from evaluator.verdict import evaluate_workbook
from evaluator.workbook import Workbook, read_workbook
from survey.db import db
from survey.integrity.report import without_flagged
from survey.models import County, Evaluation, SurveyRound, User, utcnow
from survey.pins import freeze_ruleset, item_texts
from survey.services import ServiceError
from survey.services.round_recognition import round_inputs
from survey.services.rounds import get_or_create_county

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".zip")
RESPONSES_SUFFIXES = (".csv", ".xlsx")
RECTIFICATION_FIELDS = {"measures": 2000, "deadline": 100, "department": 200}  # field: max length
OPEN_STATUSES = ("fail", "pending")  # items that need rectification
_ZIP_MAX_BYTES = 64 * 1024 * 1024  # uncompressed CSV total: refuse zip bombs


def safe_filename(name: str | None, default: str) -> str:
    """The base name of an uploaded file, without path parts or characters unsafe on disk."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = re.sub(r'[\x00-\x1f/:*?"<>|]', "_", base).strip(". ")
    return base[:200] or default


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _unpack_csv_zip(data: bytes, name: str, folder: Path) -> Path:
    """A ZIP of the CSV folder (schools.csv, county.csv, …) extracted flat into ``folder``."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise InputError("不是有效的 ZIP 压缩包", file=name) from None
    out = folder / "csv"
    out.mkdir()
    total = 0
    with zf:
        for info in zf.infolist():
            base = PurePosixPath(info.filename).name
            if info.is_dir() or not base.lower().endswith(".csv") or base.startswith("."):
                continue
            if info.flag_bits & 0x1:
                raise InputError("压缩包已加密，请上传未加密的 ZIP", file=name, field=base)
            try:  # bytes actually inflated are counted: the declared sizes may be falsified
                with zf.open(info) as src, (out / safe_filename(base, "data.csv")).open("wb") as dst:
                    while chunk := src.read(1024 * 1024):
                        total += len(chunk)
                        if total > _ZIP_MAX_BYTES:
                            raise InputError("压缩包解压后超过 64 MB", file=name)
                        dst.write(chunk)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, OSError, zlib.error):
                raise InputError("压缩包已损坏（校验失败或内容不完整），请重新压缩后上传", file=name,
                                 field=base) from None
    if not any(out.iterdir()):
        raise InputError("压缩包中没有 CSV 文件（应有 schools.csv、county.csv 等，或直接上传 .xlsx 工作簿）", file=name)
    return out


def read_upload(data: bytes, name: str, folder: Path, rules: Any = None):
    suffix = Path(name).suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES:
        raise InputError("数据文件应为 .xlsx 工作簿或 CSV 文件夹的 .zip 压缩包", file=name)
    if suffix == ".zip":
        return read_workbook(_unpack_csv_zip(data, name, folder), rules)
    path = folder / name
    path.write_bytes(data)
    return read_workbook(path, rules)


def _county_for(user: User, code: str, name: str) -> County:
    county = db.session.scalar(select(County).where(County.code == code))
    if county is None:
        if user.role != "admin":
            raise ServiceError(f"数据表中的县 {name}（{code}）尚未在系统中登记，请联系管理员")
        return get_or_create_county(code, name or code)
    allowed = user.county_ids()
    if allowed is not None and county.id not in allowed:
        raise ServiceError(f"您无权评估 {county.name}（{code}）；数据表 county 工作表的 county_code 应为您负责的县")
    return county


def _codes(codes: list[str], limit: int = 30) -> str:
    shown = "、".join(codes[:limit])
    return shown + (f" 等 {len(codes)} 所" if len(codes) > limit else "") if codes else "无"


def check_round_matches(rnd: SurveyRound, workbook: Workbook, workbook_name: str) -> None:
    """A round used for item 5 must be of the workbook's county and survey exactly the
    workbook's schools: its roster is the sampling frame N_gs of the estimate, so a school
    missing on either side would make item 5 rest on another county's frame (and leave
    schools without names in the report). Raises ``InputError`` listing the codes of each side."""
    code = str(workbook.county_value("county_code") or "").strip()
    if code and code != rnd.county.code:
        raise InputError(f"调查轮次 {rnd.id}（{rnd.name}）属于县 {rnd.county.code}，与数据表的县代码 {code} 不一致",
                         file=workbook_name, sheet="county", row=workbook.county_rows.get("county_code"),
                         column="value")
    ours = {str(c).strip() for c in workbook.schools["school_code"].dropna()}
    theirs = {s.code for s in rnd.schools}
    if ours != theirs:
        only_round, only_book = sorted(theirs - ours), sorted(ours - theirs)
        raise InputError(
            f"调查轮次 {rnd.id}（{rnd.name}）的学校名单与数据表不一致——只在调查轮次中的学校代码："
            f"{_codes(only_round)}；只在数据表中的学校代码：{_codes(only_book)}。社会认可度按调查轮次的学校名单加权，"
            f"两边必须是同一批学校：请用本数据表的 schools 工作表创建调查轮次，或改用答卷文件",
            file=workbook_name, sheet="schools", column="school_code")


def evaluate_inputs(workbook: Workbook, rules: RuleSet, *, workbook_name: str, round: SurveyRound | None = None,
                    catalogue: Catalogue | None = None, responses_path: Path | None = None,
                    responses_name: str | None = None,
                    extra_inputs: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The one evaluation behind `run.py evaluate` and the web workspace: the report dict
    (plain JSON) of a read workbook under ``rules``, with item 5 from a survey round of the
    same county and schools, or from a responses file, or pending (neither).

    Item 5 is always estimated with ``rules`` (the rule-set the report is declared under);
    a round's own pinned rule-set is recorded in the provenance. Raises ``InputError``
    (location-first Chinese message) on bad input; nothing is written or added."""
    if round is not None and responses_path is not None:
        raise InputError("社会认可度请只选择一种来源：调查轮次（--round）或答卷文件（--responses）", field="--round")
    recognition: RecognitionResult | None = None
    extra: list[tuple[str, str]] = []
    provenance: dict[str, Any] = {}
    if round is not None:
        if catalogue is None:
            raise ValueError("catalogue is required with a round")
        check_round_matches(round, workbook, workbook_name)
        answers, frame = round_inputs(round, catalogue)
        recognition = dataclasses.replace(
            recognize(answers, frame, RecognitionRules.from_ruleset(rules), None, item_texts(round, catalogue)),
            without_flagged=without_flagged(round, catalogue, RecognitionRules.from_ruleset(rules)))
        digest = sha256(answers.to_csv(index=False).encode("utf-8"))
        extra.append((f"调查轮次 {round.id}（{round.name}，{len(answers)} 份答卷）", digest))
        pin = round.pin
        provenance["survey_round"] = {
            "id": round.id, "name": round.name, "responses": len(answers),
            "ruleset": pin.ruleset if pin else round.ruleset,
            "ruleset_sha256": pin.ruleset_sha256 if pin else None,
            "questionnaires": {p.group: p.key for p in round.questionnaire_pins},
        }
    elif responses_path is not None:
        name = responses_name or responses_path.name
        if not responses_path.is_file():
            raise InputError("答卷文件不存在", file=name, field="--responses")
        recognition = recognize_file(responses_path, workbook.schools, rules)
        extra.append((name, sha256(responses_path.read_bytes())))
    extra.extend(extra_inputs)  # e.g. a data round's change history and evidence files
    report = evaluate_workbook(workbook, rules, recognition, extra)
    if provenance:
        report = dataclasses.replace(report, extra_provenance={**dict(report.extra_provenance), **provenance})
    return json.loads(json.dumps(report.to_dict(), ensure_ascii=False, allow_nan=False))  # plain JSON, as stored


def run_evaluation(*, user: User, workbook_name: str, workbook_bytes: bytes, ruleset: str,
                   round: SurveyRound | None = None, responses_name: str | None = None,
                   responses_bytes: bytes | None = None, catalogue: Catalogue | None = None,
                   extra_inputs: tuple[tuple[str, str], ...] = ()) -> Evaluation:
    """Read and validate the inputs, evaluate (``evaluate_inputs``), and store an Evaluation
    with its inputs and report; freeze the rule-set files it used. ``extra_inputs`` (name,
    sha256) are listed among the report's inputs (e.g. a data round's history and evidence).

    Raises ``InputError`` (location-first Chinese message) on bad input and ``ServiceError``
    on a refused county; nothing is added then.
    """
    if ruleset not in available_rulesets():
        raise InputError("未知的规则集", field=ruleset)
    if round is not None and responses_bytes is not None:
        raise ServiceError("社会认可度请只选择一种来源：调查轮次或答卷文件")
    rules = load_ruleset(ruleset)
    workbook_name = safe_filename(workbook_name, "data.xlsx")
    with tempfile.TemporaryDirectory(prefix="evaluation-") as tmp:
        folder = Path(tmp)
        workbook = read_upload(workbook_bytes, workbook_name, folder, rules)  # local items' fields too
        code = str(workbook.county_value("county_code") or "").strip()
        if not re.fullmatch(r"\d{6}", code):
            raise InputError("county_code 应为 6 位县级行政区划代码", file=workbook_name, sheet="county",
                             row=workbook.county_rows.get("county_code"), column="value")
        county = _county_for(user, code, str(workbook.county_value("county_name") or "").strip())
        path = None
        if responses_bytes is not None:
            responses_name = safe_filename(responses_name, "responses.csv")
            if Path(responses_name).suffix.lower() not in RESPONSES_SUFFIXES:
                raise InputError("答卷文件应为 .csv 或 .xlsx", file=responses_name)
            (folder / "responses").mkdir()
            path = folder / "responses" / responses_name  # its own folder: errors name the user's file
            path.write_bytes(responses_bytes)
        report = evaluate_inputs(workbook, rules, workbook_name=workbook_name, round=round, catalogue=catalogue,
                                 responses_path=path, responses_name=responses_name,
                                 extra_inputs=extra_inputs)
    freeze_ruleset(rules)
    year = (report.get("county") or {}).get("assessment_year")
    evaluation = Evaluation(
        county=county, created_by=user, created_at=utcnow(), ruleset=ruleset, rules_sha256=rules.sha256,
        verdict=report["verdict"], assessment_year=year if isinstance(year, int) else None,
        workbook_name=workbook_name, workbook_data=workbook_bytes, workbook_sha256=sha256(workbook_bytes),
        responses_name=responses_name if responses_bytes is not None else None,
        responses_data=responses_bytes, responses_sha256=sha256(responses_bytes) if responses_bytes is not None else None,
        round=round, report=report, rectification={},
    )
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


def report_fingerprint(report: Mapping[str, Any]) -> str:
    """sha256 of the report dict as canonical JSON (sorted keys, UTF-8): printed on the
    signature sheet so a signed paper can be matched to the stored report."""
    text = json.dumps(report, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return sha256(text.encode("utf-8"))


@dataclasses.dataclass(frozen=True)
class SignSheet:
    """What the one-page sign sheet shows besides the report: item counts per status, the
    inputs after the data workbook, the rule-set's extends chain (base first) and the report's
    fingerprint."""

    counts: dict[str, int]
    extra_inputs: list
    rules_bases: list
    report_sha256: str


def sign_sheet(ev: Evaluation) -> SignSheet:
    report = ev.report
    counts: dict[str, int] = {}
    for item in report.get("items", []):
        counts[item.get("status")] = counts.get(item.get("status"), 0) + 1
    provenance = report.get("provenance") or {}
    inputs = provenance.get("inputs") or []
    bases = [f for f in provenance.get("ruleset_files") or [] if f.get("name") != f"{ev.ruleset}.yaml"]
    return SignSheet(counts, inputs[1:], bases, report_fingerprint(report))


def open_items(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Items that need rectification: failing or pending."""
    return [it for it in report.get("items", []) if it.get("status") in OPEN_STATUSES]


def rectification_of(evaluation: Evaluation) -> dict[str, dict[str, str]]:
    """Rectification per item code: what was saved in the browser, else the workbook's sheet."""
    out = {it["code"]: dict(it["rectification"]) for it in evaluation.report.get("items", [])
           if it.get("rectification")}
    out.update(copy.deepcopy(evaluation.rectification or {}))
    return out


def save_rectification(evaluation: Evaluation, entries: Mapping[str, Mapping[str, str]], *, user: User) -> None:
    """Replace the rectification of the evaluation's failing/pending items.

    ``entries`` maps item code to {measures, deadline, department}; blank entries are kept
    blank (an explicit clearing of the workbook's text). Raises ServiceError naming the item."""
    codes = {it["code"] for it in open_items(evaluation.report)}
    saved: dict[str, dict[str, str]] = {}
    for code, values in entries.items():
        if code not in codes:
            raise ServiceError(f"指标 {code} 已达标或不存在，不需要填写整改")
        row: dict[str, str] = {}
        for key, limit in RECTIFICATION_FIELDS.items():
            text = str(values.get(key) or "").strip()
            if len(text) > limit:
                raise ServiceError(f"指标 {code}：内容过长（不超过 {limit} 字）")
            row[key] = text
        saved[code] = row
    evaluation.rectification = saved  # a new object: JSON columns track assignment, not mutation
    evaluation.rectified_at = utcnow()
    evaluation.rectified_by = user
    db.session.flush()


def report_with_rectification(evaluation: Evaluation) -> dict[str, Any]:
    """The stored report dict with the rectification merged into ``items[].rectification``."""
    report = copy.deepcopy(evaluation.report)
    rect = rectification_of(evaluation)
    for item in report.get("items", []):
        row = rect.get(item["code"])
        if row and any(row.values()):
            item["rectification"] = row
        else:
            item.pop("rectification", None)
    return report


def visible_evaluations(user: User, county_id: int | None = None) -> list[Evaluation]:
    """Evaluations of the user's counties (all for admin), newest first."""
    query = select(Evaluation).order_by(Evaluation.county_id, Evaluation.created_at.desc(), Evaluation.id.desc())
    ids = user.county_ids()
    if ids is not None:
        query = query.where(Evaluation.county_id.in_(ids or {-1}))
    if county_id is not None:
        query = query.where(Evaluation.county_id == county_id)
    return list(db.session.scalars(query))
