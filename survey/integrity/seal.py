"""Sealed archive of a round (docs/interfaces.md#survey-integrity) and its verification.

The ZIP holds responses.csv (§3 format plus the export columns and the log columns
link_code, started_at, chain_seq, chain_hash; submitted_at to the microsecond), links.csv,
the questionnaire and rule-set files the round used (under instruments/), integrity.json,
manifest.json (sha256 of every file, the chain head and length, round id, counts, time of
sealing, the item columns, the public key) and manifest.sig (Ed25519 signature of the
manifest's bytes, base64). ``verify_archive`` needs nothing but the archive (and optionally
the expected public key); it imports nothing of the service or its database.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evaluator.cells import neutralise_row
from survey.integrity.chain import ChainEntry, canonical_time, verify_chain
from survey.integrity.keys import public_fingerprint, public_raw

FORMAT = "yzjh-sealed-round/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
LOG_COLUMNS = ("link_code", "started_at", "chain_seq", "chain_hash")


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(neutralise_row(["" if v is None else v for v in row]))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def build_archive(rnd, catalogue, key: Ed25519PrivateKey, base_url: str, now: datetime | None = None) -> bytes:
    """The sealed ZIP of a round, from the database (inside an app context)."""
    from sqlalchemy import select

    from evaluator.rules import load_ruleset
    from survey.db import db
    from survey.integrity.report import integrity_dict, verify_round
    from survey.models import EntryLink, Response
    from survey.services.exports import responses_frame
    from survey.services.links import links_table

    now = now or datetime.now(UTC)
    frame = responses_frame(rnd, catalogue)
    log = {rid: (code, started, submitted, seq, h) for rid, code, started, submitted, seq, h in db.session.execute(
        select(Response.id, EntryLink.code, Response.started_at, Response.submitted_at, Response.chain_seq,
               Response.chain_hash).join(EntryLink, EntryLink.id == Response.link_id)
        .where(Response.round_id == rnd.id))}
    frame["submitted_at"] = [canonical_time(log[i][2]) for i in frame["response_id"]]
    frame["link_code"] = [log[i][0] for i in frame["response_id"]]
    frame["started_at"] = [canonical_time(log[i][1]) for i in frame["response_id"]]
    frame["chain_seq"] = [log[i][3] for i in frame["response_id"]]
    frame["chain_hash"] = [log[i][4] for i in frame["response_id"]]
    frame = frame.sort_values("chain_seq", kind="stable", na_position="last")
    meta = {"group", "school_code", "response_id", "submitted_at", "duration_seconds", "instrument",
            "flag_speeder", "flag_straightline_fast", "integrity_flags", *LOG_COLUMNS}
    items = [c for c in frame.columns if c not in meta]
    records = [[None if (isinstance(v, float) and v != v) else v for v in row]
               for row in frame.astype(object).itertuples(index=False, name=None)]
    files: dict[str, bytes] = {"responses.csv": _csv(list(frame.columns), records)}
    links = links_table(rnd, base_url)
    files["links.csv"] = _csv(["school_code", "school_name", "group", "code", "url"],
                              [[r["school_code"], r["school_name"], r["group"], r["code"], r["url"]] for r in links])
    used = set(frame["instrument"]) | {catalogue.current_for(g).key for g in {ln.group for ln in rnd.links}}
    for key_ in sorted(used):
        try:
            q = catalogue.get(key_)
        except KeyError:
            continue
        files[f"instruments/questionnaires/{q.path.name}"] = q.path.read_bytes()
    for src in load_ruleset(rnd.ruleset).sources:
        files[f"instruments/rules/{Path(src).name}"] = Path(src).read_bytes()
    integrity = integrity_dict(rnd)
    files["integrity.json"] = json.dumps(integrity, ensure_ascii=False, indent=2).encode("utf-8")
    raw = public_raw(key.public_key())
    manifest = {
        "format": FORMAT,
        "round_id": rnd.id, "round_name": rnd.name, "county_code": rnd.county.code, "county_name": rnd.county.name,
        "ruleset": rnd.ruleset, "sealed_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "counts": {"responses": len(frame), "flagged": integrity["flagged"], "links": len(links)},
        "chain": {"head": rnd.chain_head, "length": rnd.chain_length},
        "chain_check_at_sealing": {"ok": (chk := verify_round(rnd)).ok, "message": chk.message},
        "items": items,
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "public_key": base64.b64encode(raw).decode(), "public_key_fingerprint": public_fingerprint(raw),
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
        zf.writestr(MANIFEST, manifest_bytes)
        zf.writestr(SIGNATURE, base64.b64encode(key.sign(manifest_bytes)) + b"\n")
    return buf.getvalue()


@dataclass(frozen=True)
class ArchiveCheck:
    ok: bool
    message: str  # Chinese: the first file or response that does not match, or the summary
    fingerprint: str | None = None


def _parse_key(expected: str) -> bytes | str:
    """Raw 32-byte key from base64 or PEM text, or a fingerprint string (hex, spaces allowed)."""
    text = expected.strip()
    if "BEGIN PUBLIC KEY" in text:
        from cryptography.hazmat.primitives import serialization

        return public_raw(serialization.load_pem_public_key(text.encode()))
    hexed = text.replace(" ", "").lower()
    if len(hexed) == 64 and all(c in "0123456789abcdef" for c in hexed):
        return hexed
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return text
    return raw if len(raw) == 32 else text


def verify_archive(path: str | Path | io.BytesIO, expected_key: str | None = None) -> ArchiveCheck:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        return ArchiveCheck(False, f"不是完整的 ZIP 封存包（{exc}）")
    with zf:
        names = zf.namelist()
        for needed in (MANIFEST, SIGNATURE):
            if needed not in names:
                return ArchiveCheck(False, f"封存包缺少 {needed}")

        def read(name: str) -> bytes | None:
            try:
                return zf.read(name)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):  # CRC mismatch, damaged entry
                return None

        manifest_bytes, sig = read(MANIFEST), read(SIGNATURE)
        if manifest_bytes is None or sig is None:
            return ArchiveCheck(False, "manifest.json 或 manifest.sig 已损坏")
        try:
            manifest = json.loads(manifest_bytes)
            raw = base64.b64decode(manifest["public_key"], validate=True)
            public = Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, KeyError, TypeError):
            return ArchiveCheck(False, "manifest.json 已被修改：无法读取其中的公钥")
        fingerprint = public_fingerprint(raw)
        try:
            public.verify(base64.b64decode(sig.strip(), validate=True), manifest_bytes)
        except (InvalidSignature, ValueError):
            return ArchiveCheck(False, "manifest.json 已被修改：签名与清单内容不符", fingerprint)
        if expected_key:
            want = _parse_key(expected_key)
            if isinstance(want, bytes):
                match = want == raw
            else:
                match = want.replace(" ", "").lower() == fingerprint.replace(" ", "")
            if not match:
                return ArchiveCheck(False, f"签名密钥不是预期的密钥：封存包的公钥指纹为 {fingerprint}", fingerprint)
        listed: dict[str, str] = manifest.get("files") or {}
        for name in names:
            if name not in listed and name not in (MANIFEST, SIGNATURE):
                return ArchiveCheck(False, f"文件 {name} 不在签名清单中：它是后来加入的", fingerprint)
        for name, digest in listed.items():
            if name not in names:
                return ArchiveCheck(False, f"文件 {name} 已从封存包中删除", fingerprint)
            data = read(name)
            if data is None or hashlib.sha256(data).hexdigest() != digest:
                detail = ""
                if name == "responses.csv" and data is not None:
                    check = _chain_from_csv(data, manifest)
                    detail = f"：{check.message}" if not check.ok else ""
                return ArchiveCheck(False, f"文件 {name} 与签名清单不符（已被修改）{detail}", fingerprint)
        check = _chain_from_csv(read("responses.csv") or b"", manifest)
        if not check.ok:
            return ArchiveCheck(False, f"responses.csv 的防篡改记录链不符：{check.message}", fingerprint)
    counts = manifest.get("counts", {})
    return ArchiveCheck(True, (
        f"封存包完整：调查轮次 {manifest.get('round_id')}（{manifest.get('round_name')}），{counts.get('responses')} 份回答，"
        f"{len(listed)} 个文件与签名清单一致，记录链头 {manifest['chain']['head'] or '（空）'}，"
        f"签名公钥指纹 {fingerprint}，封存时间 {manifest.get('sealed_at')}"), fingerprint)


def _chain_from_csv(data: bytes, manifest: dict[str, Any]):
    text = data.decode("utf-8-sig", errors="replace")
    rows = list(csv.DictReader(io.StringIO(text)))
    items = manifest.get("items") or []
    entries = []
    for row in rows:
        instrument, _, version = (row.get("instrument") or "").rpartition(".v")
        seq = row.get("chain_seq") or ""
        try:
            entries.append(ChainEntry(
                response_id=row.get("response_id"), seq=int(float(seq)) if seq else None,
                stored_hash=row.get("chain_hash") or None, link=row.get("link_code") or "", instrument=instrument,
                version=int(version) if version.isdigit() else -1,
                answers={i: row[i] for i in items if row.get(i)},
                started_at=row.get("started_at") or "1970-01-01T00:00:00+00:00",
                submitted_at=row.get("submitted_at") or "1970-01-01T00:00:00+00:00"))
        except ValueError:
            from survey.integrity.chain import ChainCheck

            return ChainCheck(False, f"回答 {row.get('response_id')} 的记录格式已被改动", None, 0)
    chain = manifest.get("chain") or {}
    return verify_chain(entries, head=chain.get("head"), length=int(chain.get("length") or 0))
