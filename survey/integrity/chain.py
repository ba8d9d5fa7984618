"""Tamper-evident response log: each response of a round is chained to the one before it.

link_i = sha256(canonical JSON of {prev: link_{i-1}, seq: i, link, instrument, version,
answers, started_at, submitted_at}); the round keeps the last link (its head) and the length.
The hash is plain SHA-256 over data that the sealed archive carries (responses.csv), so an
inspector can recompute it without our database or any key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def canonical_time(value: datetime | str) -> str:
    """UTC, ISO 8601 with microseconds: the same text from PostgreSQL, SQLite and CSV."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def link_hash(prev: str | None, *, seq: int, link: str, instrument: str, version: int,
              answers: Mapping[str, Any] | str, started_at: datetime | str, submitted_at: datetime | str) -> str:
    if isinstance(answers, str):
        answers = json.loads(answers)
    content = {
        "prev": prev or "", "seq": int(seq), "link": link, "instrument": instrument, "version": int(version),
        "answers": {str(k): str(v) for k, v in answers.items() if v not in (None, "")},
        "started_at": canonical_time(started_at), "submitted_at": canonical_time(submitted_at),
    }
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainEntry:
    """One stored response as the log sees it (``response_id`` only names it in messages)."""

    response_id: Any
    seq: int | None
    stored_hash: str | None
    link: str
    instrument: str
    version: int
    answers: Mapping[str, Any]
    started_at: datetime | str
    submitted_at: datetime | str


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    message: str  # Chinese, names the first response that does not fit
    head: str | None
    length: int
    first_bad: Any = None


def verify_chain(entries: Iterable[ChainEntry], *, head: str | None, length: int,
                 pending_since: datetime | None = None) -> ChainCheck:
    """Recompute the chain in log order and compare with the stored links and the head.

    Names the first response that was changed (its content no longer gives its link),
    inserted (no place in the log, a duplicated place, or a link that does not follow from
    its predecessor), or removed (a gap in the positions, or a shorter log than the round's
    recorded length).

    ``pending_since`` (the database check of a live round): a response without a place that
    was submitted at or after it is one the chaining thread has not yet reached (it chains
    in batches after the commit, survey.integrity.chaining), so it is left out and counted
    in the message instead of being reported as inserted; older ones are findings."""
    rows = list(entries)
    pending = [e for e in rows if e.seq is None and pending_since is not None
               and _aware(e.submitted_at) >= _aware(pending_since)]
    if pending:
        left_out = {id(e) for e in pending}
        rows = [e for e in rows if id(e) not in left_out]
        check = verify_chain(rows, head=head, length=length)
        if not check.ok:
            return check
        return ChainCheck(True, f"{check.message}；另有 {len(pending)} 份刚提交的回答尚未写入记录链（答卷入库后由后台"
                                "在数秒内写入，稍后再核查即包含在内）", head, length)
    outside = [e for e in rows if e.seq is None]
    if outside:
        return ChainCheck(False, f"回答 {outside[0].response_id} 不在防篡改记录链中：它是在记录链之外插入的", head, length,
                          outside[0].response_id)
    rows.sort(key=lambda e: (e.seq, str(e.response_id)))
    prev: str | None = None
    expected = 1
    for e in rows:
        if e.seq < expected:
            return ChainCheck(False, f"回答 {e.response_id} 与前一条回答占用同一链位置 {e.seq}：它是插入的", head, length,
                              e.response_id)
        if e.seq > expected:
            return ChainCheck(False, f"链位置 {expected} 的回答已被删除（下一条现存回答为 {e.response_id}，位置 {e.seq}）",
                              head, length, e.response_id)
        if e.seq > length:
            return ChainCheck(False, f"回答 {e.response_id} 位于链位置 {e.seq}，超出本轮记录的长度 {length}：它是插入的",
                              head, length, e.response_id)
        computed = link_hash(prev, seq=e.seq, link=e.link, instrument=e.instrument, version=e.version,
                             answers=e.answers, started_at=e.started_at, submitted_at=e.submitted_at)
        if computed != e.stored_hash:
            return ChainCheck(False, f"回答 {e.response_id}（链位置 {e.seq}）与记录链不符：其答案、入口、问卷版本或时间"
                                     "被修改，或回答被调换了顺序", head, length, e.response_id)
        prev = computed
        expected += 1
    if expected - 1 < length:
        return ChainCheck(False, f"链末尾的 {length - expected + 1} 条回答已被删除（记录的长度为 {length}，现存 {expected - 1}）",
                          head, length, None)
    if expected - 1 > length or prev != head:
        last = rows[-1].response_id if rows else None
        return ChainCheck(False, f"链头与记录不符：回答 {last} 之后的记录被改动或插入", head, length, last)
    return ChainCheck(True, f"防篡改记录链完整：{length} 条回答，链头 {head or '（空）'}", head, length)


def _aware(t: datetime | str) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives naive UTC ones; archives give text)."""
    t = datetime.fromisoformat(t) if isinstance(t, str) else t
    return t if t.tzinfo else t.replace(tzinfo=UTC)
