"""Evidence files (佐证材料): which items take them, storing an upload whose type, size and
content are checked, a reviewer's acceptance, and the files as report inputs."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from evaluator.checks import (
    Checks,
)
from evaluator.workbook.schema import (
    COUNTY_BY_KEY,
)
from survey.datacollect.audit import audit, checks_of
from survey.datacollect.models import DataRound, Evidence, SchoolSheet
from survey.db import db
from survey.i18n import _
from survey.models import User, utcnow
from survey.services import ServiceError
from survey.services.evaluations import safe_filename

# Magic numbers of the accepted evidence types: the extension must agree with the content.
_MAGIC = {
    "pdf": (b"%PDF-",), "png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"), "doc": (b"\xd0\xcf\x11\xe0",), "xls": (b"\xd0\xcf\x11\xe0",),
    "ppt": (b"\xd0\xcf\x11\xe0",), "docx": (b"PK\x03\x04",), "xlsx": (b"PK\x03\x04",), "pptx": (b"PK\x03\x04",),
}
EVIDENCE_MIMETYPES = {
    "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_ITEM = re.compile(r"^(\d\.\d+)")


def evidence_item(sheet: SchoolSheet | None, key: str, checks: Checks) -> str | None:
    """The item code a piece of evidence belongs to, or None when the field takes none."""
    if sheet is not None:
        return checks.evidence.school_items.get(key)
    spec = COUNTY_BY_KEY.get(key)
    if spec is None or spec.kind != "yesno":
        return None
    m = _ITEM.match(spec.zh)
    return m.group(1) if m else None


def add_evidence(rnd: DataRound, sheet: SchoolSheet | None, key: str, filename: str | None, data: bytes, *,
                 actor: str, user: User | None = None, now: datetime | None = None) -> Evidence:
    """Store an evidence file: allow-listed type whose content matches its extension, within
    the size limit, with its sha256."""
    now = now or utcnow()
    checks = checks_of(rnd)
    if rnd.closed_at is not None:
        raise ServiceError(_("本次填报已结束"))
    if evidence_item(sheet, key, checks) is None:
        raise ServiceError(_("该项不需要佐证材料"))
    name = safe_filename(filename, "")
    ext = Path(name).suffix.lower().lstrip(".")
    if not name or ext not in checks.evidence.types:
        raise ServiceError(_("文件“%(file)s”类型不允许；可上传 %(types)s", file=name or _("（未命名）"),
                             types="、".join(checks.evidence.types)))
    if not data:
        raise ServiceError(_("文件“%(file)s”是空的", file=name))
    if len(data) > checks.evidence.max_bytes:
        raise ServiceError(_("文件“%(file)s”超过 %(mb)s MB", file=name, mb=checks.evidence.max_bytes // (1024 * 1024)))
    if not data.startswith(_MAGIC[ext]):
        raise ServiceError(_("文件“%(file)s”的内容与扩展名 .%(ext)s 不符", file=name, ext=ext))
    ev = Evidence(round_id=rnd.id, sheet=sheet, field=key, filename=name, content_type=EVIDENCE_MIMETYPES[ext],
                  size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data, uploaded_at=now,
                  uploaded_by=actor)
    db.session.add(ev)
    audit(rnd, sheet, f"evidence:{key}", None, f"{name} sha256={ev.sha256}", actor=actor, user=user,
           action="evidence", now=now)
    db.session.flush()
    return ev


def accept_evidence(ev: Evidence, *, user: User, now: datetime | None = None) -> None:
    """A reviewer marks evidence accepted; the item's status still comes from the data."""
    now = now or utcnow()
    if db.session.get(DataRound, ev.round_id).closed_at is not None:
        raise ServiceError(_("本次填报已结束，评估已按结束时的佐证材料生成"))
    ev.accepted_at, ev.accepted_by = now, user
    rnd = db.session.get(DataRound, ev.round_id)
    audit(rnd, ev.sheet, f"evidence:{ev.field}", None, f"已认可 {ev.filename}", actor=user.username, user=user,
           action="evidence", now=now)
    db.session.flush()


def round_evidence(rnd: DataRound) -> list[Evidence]:
    return list(db.session.scalars(select(Evidence).where(Evidence.round_id == rnd.id).order_by(Evidence.id)))


def evidence_inputs(rnd: DataRound) -> tuple[tuple[str, str], ...]:
    """The evidence as report inputs (name, sha256), one per file, naming item and status."""
    checks = checks_of(rnd)
    out = []
    for ev in round_evidence(rnd):
        item = evidence_item(ev.sheet, ev.field, checks) or ""
        who = f"{ev.sheet.name}（{ev.sheet.code}）" if ev.sheet else rnd.county.name
        status = "已认可" if ev.accepted_at else "未认可"
        out.append((f"佐证材料 {item} {who}：{ev.filename}（{status}）", ev.sha256))
    return tuple(out)
