"""`round integrity | verify | seal` and `verify` (docs/interfaces.md#command-line, #survey-integrity)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from evaluator.errors import InputError
from survey.commands._app import app_context
from survey.commands.rounds import public_base_url, round_by_id, round_group


@round_group.command("integrity", help="打印本轮调查的完整性报告（JSON）")
@click.argument("round_id", type=int)
def integrity(round_id: int) -> None:
    from survey.integrity.report import integrity_dict

    with app_context():
        report = integrity_dict(round_by_id(round_id))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


@round_group.command("verify", help="核对本轮数据库中的防篡改记录链")
@click.argument("round_id", type=int)
def verify_round_cmd(round_id: int) -> None:
    from survey.integrity.report import verify_round

    with app_context():
        check = verify_round(round_by_id(round_id))
    click.echo(check.message)
    if not check.ok:
        sys.exit(1)  # a finding, not bad input (exit 2)


@round_group.command("seal", help="写出可脱离数据库核验的签名封存包（ZIP）")
@click.argument("round_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="输出 .zip 文件")
def seal(round_id: int, out: Path) -> None:
    from survey.instruments import catalogue
    from survey.integrity.keys import app_signing_key, public_fingerprint, public_raw
    from survey.integrity.report import verify_round
    from survey.integrity.seal import build_archive

    if out.suffix.lower() != ".zip":
        raise InputError("输出文件应以 .zip 结尾", field="--out")
    if not out.parent.exists():
        raise InputError(f"目录 {out.parent} 不存在", field="--out")
    with app_context() as app:
        rnd = round_by_id(round_id)
        check = verify_round(rnd)
        key = app_signing_key(app)
        data = build_archive(rnd, catalogue(), key, public_base_url(app))
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    import base64

    raw = public_raw(key.public_key())
    click.echo(f"public_key: {base64.b64encode(raw).decode()}")
    click.echo(f"fingerprint: {public_fingerprint(raw)}")
    click.echo(f"已写出封存包 {out}（{len(data)} 字节）", err=True)
    if not check.ok:
        click.echo(f"警告：数据库中的记录链已不完整，封存包如实记录了现状：{check.message}", err=True)


@click.command("verify", help="核验封存包（只需封存包本身；可给出预期的公钥或其指纹）")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "key", help="预期的签名公钥（base64、PEM 文件或 SHA-256 指纹）")
def verify(archive: Path, key: str | None) -> None:
    from survey.integrity.seal import verify_archive

    if not archive.exists():
        raise InputError("封存包文件不存在", file=str(archive))
    if key and Path(key).is_file():
        key = Path(key).read_text(encoding="utf-8")
    check = verify_archive(archive, key)
    click.echo(check.message)
    if not check.ok:
        sys.exit(1)  # a finding, not bad input (exit 2)


commands = [verify]
