"""Tamper-evident log (`round verify`) and sealed archive (`round seal`, `verify`) against
edit, delete, insert and reorder — in the database and in the archive."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from survey.db import db
from survey.integrity.report import verify_round
from survey.integrity.seal import verify_archive
from survey.models import Response, SurveyRound, utcnow
from tests.survey.helpers import link_for, make_round, store_answers

ROOT = Path(__file__).resolve().parents[2]


def run(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="cli-test", PUBLIC_BASE_URL="https://wj.example.cn",
               SIGNING_KEY_FILE=str(tmp_path / "signing_key.pem"))
    return subprocess.run([sys.executable, "run.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def _round_with_answers(n: int = 6) -> int:
    rnd = make_round()
    links = [link_for(rnd, "parent", "S01"), link_for(rnd, "teacher", "S02"), link_for(rnd, "public")]
    for i in range(n):
        store_answers(links[i % 3], "满意" if i % 2 else "比较满意", duration=40 + i)
    return rnd.id


def _ids(round_id: int) -> list[int]:
    return list(db.session.scalars(select(Response.id).where(Response.round_id == round_id)
                                   .order_by(Response.chain_seq)))


def _check(round_id: int):
    db.session.expire_all()
    return verify_round(db.session.get(SurveyRound, round_id))


def test_each_response_is_chained_and_the_round_keeps_the_head(app):
    with app.app_context():
        rid = _round_with_answers()
        rnd = db.session.get(SurveyRound, rid)
        rows = db.session.execute(select(Response.chain_seq, Response.chain_hash).where(Response.round_id == rid)
                                  .order_by(Response.id)).all()
        assert [s for s, _ in rows] == [1, 2, 3, 4, 5, 6]
        assert rnd.chain_length == 6 and rnd.chain_head == rows[-1][1]
        assert len({h for _, h in rows}) == 6
        check = verify_round(rnd)
        assert check.ok and "完整" in check.message


@pytest.mark.parametrize("attack", ["edit_answer", "edit_time", "delete_middle", "delete_last", "insert_outside",
                                    "insert_duplicate_place", "reorder"])
def test_round_verify_names_the_first_changed_removed_or_inserted_response(app, attack):
    with app.app_context():
        rid = _round_with_answers()
        ids = _ids(rid)
        conn = db.session.connection()
        if attack == "edit_answer":
            r = db.session.get(Response, ids[2])
            r.answers = {**r.answers, next(iter(r.answers)): "不满意"}
        elif attack == "edit_time":
            conn.execute(text("UPDATE responses SET started_at = submitted_at WHERE id = :i"), {"i": ids[3]})
        elif attack == "delete_middle":
            conn.execute(text("DELETE FROM responses WHERE id = :i"), {"i": ids[1]})
        elif attack == "delete_last":
            conn.execute(text("DELETE FROM responses WHERE id = :i"), {"i": ids[-1]})
        elif attack in ("insert_outside", "insert_duplicate_place"):
            src = db.session.get(Response, ids[0])
            clone = Response(round_id=rid, link_id=src.link_id, school_id=src.school_id, group=src.group,
                             instrument=src.instrument, instrument_version=src.instrument_version,
                             answers=src.answers, started_at=src.started_at,
                             # an hour back: a placeless response of the last CHAIN_PENDING_SECONDS is pending
                             submitted_at=src.submitted_at - timedelta(hours=1),
                             duration_seconds=src.duration_seconds, idempotency_key="forged", browser_hash="forged",
                             ip_hash="x", ua_class="wechat-android",
                             chain_seq=None if attack == "insert_outside" else 7, chain_hash=src.chain_hash)
            db.session.add(clone)
        elif attack == "reorder":
            conn.execute(text("UPDATE responses SET chain_seq = -chain_seq WHERE id IN (:a, :b)"),
                         {"a": ids[2], "b": ids[3]})
            conn.execute(text("UPDATE responses SET chain_seq = 4 WHERE id = :a"), {"a": ids[2]})
            conn.execute(text("UPDATE responses SET chain_seq = 3 WHERE id = :b"), {"b": ids[3]})
        db.session.commit()
        check = _check(rid)
        assert not check.ok
        expected = {
            "edit_answer": f"回答 {ids[2]}（链位置 3）", "edit_time": f"回答 {ids[3]}（链位置 4）",
            "delete_middle": "链位置 2 的回答已被删除", "delete_last": "链末尾的 1 条回答已被删除",
            "insert_outside": "不在防篡改记录链中", "insert_duplicate_place": "超出本轮记录的长度 6：它是插入的",
            "reorder": f"回答 {ids[3]}（链位置 3）",
        }[attack]
        assert expected in check.message, check.message


def _rewrite(archive: bytes, changes: dict[str, bytes | None]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(archive))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for name in src.namelist():
            if name in changes:
                if changes[name] is not None:
                    out.writestr(name, changes[name])
            else:
                out.writestr(name, src.read(name))
        for name, data in changes.items():
            if name not in src.namelist() and data is not None:
                out.writestr(name, data)
    return buf.getvalue()


def _resign(archive: bytes, responses_csv: bytes, key: Ed25519PrivateKey) -> bytes:
    """What a forger with their own key does: new file hash in the manifest, new signature."""
    import hashlib

    from survey.integrity.keys import public_fingerprint, public_raw

    src = zipfile.ZipFile(io.BytesIO(archive))
    manifest = json.loads(src.read("manifest.json"))
    manifest["files"]["responses.csv"] = hashlib.sha256(responses_csv).hexdigest()
    raw = public_raw(key.public_key())
    manifest["public_key"], manifest["public_key_fingerprint"] = base64.b64encode(raw).decode(), public_fingerprint(raw)
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
    return _rewrite(archive, {"responses.csv": responses_csv, "manifest.json": body,
                              "manifest.sig": base64.b64encode(key.sign(body))})


def test_seal_and_verify_detect_changed_byte_manifest_edit_removed_added_response_and_wrong_key(
        app, database_url, tmp_path):
    with app.app_context():
        rid = _round_with_answers()
    out = tmp_path / "封存.zip"
    sealed = run(database_url, tmp_path, "round", "seal", str(rid), "--out", str(out))
    assert sealed.returncode == 0, sealed.stderr
    public = sealed.stdout.split("public_key: ")[1].split()[0]
    fingerprint = sealed.stdout.split("fingerprint: ")[1].strip()
    archive = out.read_bytes()
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert {"responses.csv", "links.csv", "integrity.json", "manifest.json", "manifest.sig",
            "instruments/rules/national-2017.yaml", "instruments/questionnaires/social.v1.yaml"} <= set(names)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("manifest.json"))
    assert manifest["round_id"] == rid and manifest["counts"]["responses"] == 6 and manifest["chain"]["length"] == 6
    assert manifest["public_key_fingerprint"] == fingerprint

    ok = run(database_url, tmp_path, "verify", str(out), "--key", public)
    assert ok.returncode == 0 and "封存包完整" in ok.stdout, ok.stdout + ok.stderr
    assert verify_archive(out, fingerprint).ok

    csv_bytes = zipfile.ZipFile(io.BytesIO(archive)).read("responses.csv")
    lines = csv_bytes.decode("utf-8-sig").splitlines(keepends=True)

    # one changed byte inside the ZIP (CRC or content no longer matches)
    flipped = bytearray(archive)
    at = archive.index(b"responses.csv") + 60
    flipped[at] ^= 0x01
    assert not verify_archive(io.BytesIO(bytes(flipped))).ok
    # one answer changed in responses.csv
    edited = "".join(lines).replace("比较满意", "不满意", 1).encode("utf-8-sig")
    check = verify_archive(io.BytesIO(_rewrite(archive, {"responses.csv": edited})))
    assert not check.ok and "responses.csv" in check.message and "回答" in check.message
    # the manifest edited (a count), signature left as is
    forged = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("manifest.json"))
    forged["counts"]["responses"] = 5
    check = verify_archive(io.BytesIO(_rewrite(archive, {"manifest.json": json.dumps(forged).encode()})))
    assert not check.ok and "manifest.json" in check.message
    # a response removed and the archive re-signed by a forger: the log names the gap; the key check fails
    forger = Ed25519PrivateKey.generate()
    removed = "".join(lines[:3] + lines[4:]).encode("utf-8-sig")
    resealed = _resign(archive, removed, forger)
    check = verify_archive(io.BytesIO(resealed))
    assert not check.ok and "链位置 3 的回答已被删除" in check.message, check.message
    check = verify_archive(io.BytesIO(resealed), public)
    assert not check.ok and "不是预期的密钥" in check.message
    # a response added (a copy of the last with a new id)
    added = "".join(lines + [lines[-1].replace(lines[-1].split(",")[2], "999", 1)]).encode("utf-8-sig")
    check = verify_archive(io.BytesIO(_resign(archive, added, forger)))
    assert not check.ok and "999" in check.message, check.message
    # rows reordered with their positions swapped
    swapped = lines[:]
    swapped[2], swapped[3] = swapped[3], swapped[2]
    check = verify_archive(io.BytesIO(_rewrite(archive, {"responses.csv": "".join(swapped).encode("utf-8-sig")})))
    assert not check.ok and "responses.csv" in check.message
    # an extra file slipped in
    check = verify_archive(io.BytesIO(_rewrite(archive, {"extra.txt": b"x"})))
    assert not check.ok and "extra.txt" in check.message
    # the command line says the same with exit 1
    bad = tmp_path / "bad.zip"
    bad.write_bytes(resealed)
    failed = run(database_url, tmp_path, "verify", str(bad), "--key", fingerprint)
    assert failed.returncode == 1 and "不是预期的密钥" in failed.stdout


def test_round_verify_and_integrity_commands(app, database_url, tmp_path):
    with app.app_context():
        rid = _round_with_answers(3)
    good = run(database_url, tmp_path, "round", "verify", str(rid))
    assert good.returncode == 0 and "完整" in good.stdout, good.stdout + good.stderr
    report = run(database_url, tmp_path, "round", "integrity", str(rid))
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["round_id"] == rid and data["responses"] == 3 and data["flagged"] == 0 and data["flags"] == []
    with app.app_context():
        db.session.execute(text("DELETE FROM responses WHERE id = :i"), {"i": _ids(rid)[0]})
        db.session.commit()
    bad = run(database_url, tmp_path, "round", "verify", str(rid))
    assert bad.returncode == 1 and "链位置 1 的回答已被删除" in bad.stdout
    missing = run(database_url, tmp_path, "round", "verify", "9999")
    assert missing.returncode == 2 and "不存在" in missing.stderr


def test_upgrading_chains_the_responses_stored_before_the_log_existed(app):
    from alembic import command

    from survey.db import alembic_config

    with app.app_context():
        rid = _round_with_answers(4)
        before = verify_round(db.session.get(SurveyRound, rid))
        assert before.ok
        db.session.remove()
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")  # the schema before the log: answers stay
        with db.engine.begin() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM responses")).scalar() == 4
            command.upgrade(alembic_config(conn), "head")
        rnd = db.session.get(SurveyRound, rid)
        assert rnd.chain_length == 4
        check = verify_round(rnd)
        assert check.ok, check.message


def _unchain_last(round_id: int, submitted_ago: timedelta) -> int:
    """The round as it is between a response's commit and its chaining (the chaining thread
    batches for CHAIN_BATCH_SECONDS, and retries after a failure): the last response without
    its link, the round's head one response back; submitted ``submitted_ago``."""
    ids = _ids(round_id)
    prev = db.session.scalar(select(Response.chain_hash).where(Response.id == ids[-2]))
    db.session.execute(text("UPDATE responses SET chain_seq = NULL, chain_hash = NULL, submitted_at = :t WHERE id = :i"),
                       {"i": ids[-1], "t": utcnow() - submitted_ago})
    db.session.execute(text("UPDATE rounds SET chain_head = :h, chain_length = chain_length - 1 WHERE id = :r"),
                       {"h": prev, "r": round_id})
    db.session.commit()
    return ids[-1]


def test_a_response_just_submitted_and_not_yet_chained_is_pending_not_inserted(app):
    with app.app_context():
        rid = _round_with_answers()
        _unchain_last(rid, timedelta(seconds=2))
        check = _check(rid)
        assert check.ok, check.message
        assert "防篡改记录链完整：5 条回答" in check.message and "1 份刚提交的回答尚未写入记录链" in check.message


def test_an_unchained_response_older_than_the_grace_is_reported_as_inserted(app):
    with app.app_context():
        rid = _round_with_answers()
        last = _unchain_last(rid, timedelta(seconds=app.config["CHAIN_PENDING_SECONDS"] + 5))
        check = _check(rid)
        assert not check.ok and f"回答 {last} 不在防篡改记录链中" in check.message, check.message
