"""`round create | links | export | close | reopen` (docs/interfaces.md#command-line)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from evaluator.errors import InputError
from survey.commands._app import app_context

round_group = click.Group("round", help="调查轮次")


def _when(value: str | None, option: str) -> datetime | None:
    """ISO 8601; a time without zone is Beijing time."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"“{value}”不是 ISO 8601 时间（例如 2026-12-01T08:00 或 2026-12-01T08:00+08:00）",
                         field=option) from None
    if not 2000 <= dt.year <= 2100:
        raise InputError(f"“{value}”不在 2000 年至 2100 年之间", field=option)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return dt.astimezone(ZoneInfo("UTC"))


def round_by_id(round_id: int):
    from survey.db import db
    from survey.models import SurveyRound

    rnd = db.session.get(SurveyRound, round_id) if 0 < round_id < 2**31 else None
    if rnd is None:
        raise InputError(f"调查轮次 {round_id} 不存在", field="ROUND_ID")
    return rnd


def public_base_url(app) -> str:
    return app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000/"


@round_group.command("create", help="从学校名单创建调查轮次；标准输出只打印轮次编号")
@click.option("--county", "county_code", required=True, help="6 位县代码")
@click.option("--county-name", help="县名称（新县可不填：先按代码暂定名称，之后在网页上修改）")
@click.option("--name", required=True, help="轮次名称")
@click.option("--schools", required=True, type=click.Path(dir_okay=False, path_type=Path), help="学校名单 .xlsx/.csv")
@click.option("--opens", help="开始时间（ISO 8601，默认立即）")
@click.option("--closes", help="结束时间（ISO 8601，默认直到 round close）")
@click.option("--rules", "ruleset", default="national-2017", show_default=True, help="规则集名称或文件")
@click.option("--target-n", type=click.IntRange(min=1), help="目标样本量（默认按抽样公式）")
@click.option("--population", type=click.IntRange(min=1), help="常住人口（按 1.5‰ 确定样本量）")
def create(county_code, county_name, name, schools, opens, closes, ruleset, target_n, population) -> None:
    from survey.db import cli_transaction, db
    from survey.instruments import catalogue
    from survey.services.rounds import create_round

    opens_at, closes_at = _when(opens, "--opens"), _when(closes, "--closes")
    from survey.config import Config, from_environment
    from survey.services.counties import is_placeholder

    with app_context(), cli_transaction():
        rnd = create_round(
            county_code=county_code, county_name=county_name, name=name, roster_source=schools,
            catalogue=catalogue(), ruleset=ruleset, opens_at=opens_at, closes_at=closes_at,
            target_n=target_n, resident_population=population,
            max_schools=from_environment().get("MAX_ROSTER_SCHOOLS", Config.MAX_ROSTER_SCHOOLS),
        )
        db.session.flush()
        round_id = rnd.id
        if is_placeholder(rnd.county.name):
            click.echo(f"提示：县 {rnd.county.code} 没有名称，暂定为“{rnd.county.name}”；请在网页上的调查轮次页面"
                       "（“修改设置”）改为正式名称，或重新运行时加 --county-name。", err=True)
    click.echo(round_id)


@round_group.command("links", help="入口链接 CSV（school_code,school_name,group,url）")
@click.argument("round_id", type=int)
def links(round_id: int) -> None:
    from survey.services.links import links_csv_text

    with app_context() as app:
        text = links_csv_text(round_by_id(round_id), public_base_url(app))
    sys.stdout.write(text)


@round_group.command("export", help="导出全部回答（.csv、.xlsx；--labels zh 为中文表头版；.sav 为 SPSS 文件）")
@click.argument("round_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="输出文件")
@click.option("--labels", type=click.Choice(["zh"]), help="zh：中文表头、学校名称、题目文字、北京时间（供阅读）")
def export(round_id: int, out: Path, labels: str | None) -> None:
    from sqlalchemy import func, select

    from survey.db import db
    from survey.instruments import catalogue
    from survey.models import Response
    from survey.services import ServiceError
    from survey.services.exports import export_chunks, write_chunks

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("csv", "xlsx", "sav"):
        raise InputError("输出文件应以 .csv、.xlsx 或 .sav 结尾", field="--out")
    tmp = out.with_name(out.name + ".part")
    with app_context(pages=False):
        rnd = round_by_id(round_id)
        n = db.session.scalar(select(func.count()).select_from(Response).where(Response.round_id == rnd.id))
        try:  # streamed to FILE.part, renamed when complete: never a half-written FILE
            with tmp.open("wb") as fh:
                write_chunks(export_chunks(rnd, catalogue(), fmt, labels), fh)
        except ServiceError as exc:  # a refusal (a .sav above EXPORT_SAV_MAX_ROWS)
            tmp.unlink(missing_ok=True)
            raise InputError(str(exc), field="--out") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(out)
    click.echo(f"已导出 {n} 条回答到 {out}", err=True)


@round_group.command("close", help="结束调查，不再接受回答")
@click.argument("round_id", type=int)
def close(round_id: int) -> None:
    from survey.db import cli_transaction
    from survey.services.corrections import close

    with app_context(), cli_transaction():
        close(round_by_id(round_id), by=None)
    click.echo(f"调查轮次 {round_id} 已结束", err=True)


@round_group.command("reopen", help="重新开放已结束的调查（也可用于延期）；问卷和规则版本不变")
@click.argument("round_id", type=int)
@click.option("--closes", help="新的结束时间（ISO 8601，不带时区即北京时间；默认直到 round close）")
def reopen(round_id: int, closes: str | None) -> None:
    from survey.db import cli_transaction
    from survey.services import ServiceError
    from survey.services.corrections import reopen_round

    closes_at = _when(closes, "--closes")
    with app_context(), cli_transaction():
        try:
            detail = reopen_round(round_by_id(round_id), by=None, closes_at=closes_at)
        except ServiceError as exc:
            raise InputError(str(exc), field="ROUND_ID") from None
    click.echo(f"调查轮次 {round_id}：{detail}", err=True)


commands = [round_group]
