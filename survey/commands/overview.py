"""`region …`, `roadmap …`, `projection`: regions above counties, county roadmaps, and the
year-by-year projection as JSON (for inspectors' scripts)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import select

from evaluator.errors import InputError
from survey.commands._app import app_context

region = click.Group("region", help="管理区域（市、省）")
roadmap = click.Group("roadmap", help="县的推进规划（目标年份、逐年措施、建设项目）")


@contextmanager
def _transaction():
    """The command's one commit; a refused operation exits 2 with its Chinese message."""
    from survey.db import cli_transaction
    from survey.services import ServiceError

    with app_context(), cli_transaction():
        try:
            yield
        except ServiceError as exc:
            raise InputError(str(exc)) from None


def _region(code: str):
    from survey.db import db
    from survey.overview.models import Region

    r = db.session.scalar(select(Region).where(Region.code == code))
    if r is None:
        raise InputError(f"区域代码 {code} 不存在", field="--code")
    return r


def _county(code: str):
    from survey.db import db
    from survey.models import County

    c = db.session.scalar(select(County).where(County.code == code))
    if c is None:
        raise InputError(f"县代码 {code} 尚未登记", field="--county")
    return c


@region.command("create", help="创建区域")
@click.option("--code", required=True, help="区域代码（行政区划代码，2–12 位数字）")
@click.option("--name", required=True, help="区域名称")
@click.option("--level", required=True, type=click.Choice(["city", "province"]), help="级别：city 市 / province 省")
@click.option("--parent", default=None, help="上级省的区域代码")
def region_create(code: str, name: str, level: str, parent: str | None) -> None:
    from survey.overview.regions import create_region

    with _transaction():
        r = create_region(code, name, level, _region(parent) if parent else None)
        click.echo(f"已创建区域 {r.name}（{r.code}）", err=True)


@region.command("counties", help="设置区域直接包含的县（替换原有）")
@click.option("--code", required=True, help="区域代码")
@click.argument("counties", nargs=-1)
def region_counties(code: str, counties: tuple[str, ...]) -> None:
    from survey.overview.regions import set_region_counties

    with _transaction():
        r = _region(code)
        set_region_counties(r, counties)
        click.echo(f"{r.name}：{len(r.counties)} 个县", err=True)


@region.command("assign", help="把区域分配给评估人员账号")
@click.option("--code", required=True, help="区域代码")
@click.option("--username", required=True, help="评估人员用户名")
def region_assign(code: str, username: str) -> None:
    from survey.overview.regions import assign_region

    with _transaction():
        r = _region(code)
        assign_region(r, username)
        click.echo(f"已将 {r.name} 分配给 {username}", err=True)


@roadmap.command("template", help="空白推进规划模板")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="输出 .xlsx 文件")
def roadmap_template(out: Path) -> None:
    from evaluator.roadmap import write_roadmap
    from evaluator.rules import load_ruleset

    if out.suffix.lower() != ".xlsx":
        raise InputError("模板文件名应以 .xlsx 结尾", field="--out")
    write_roadmap(out, None, titles=load_ruleset().item_titles)


@roadmap.command("import", help="导入推进规划工作簿（替换该县原有规划）")
@click.option("--county", required=True, help="县代码")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def roadmap_import(county: str, file: Path) -> None:
    from evaluator.roadmap import read_roadmap
    from survey.overview.services import save_roadmap

    if not file.exists():
        raise InputError("文件不存在", file=str(file))
    rm = read_roadmap(file)  # before the transaction: bad input writes nothing
    with _transaction():
        save_roadmap(_county(county), rm, user=None, source_name=file.name)
    click.echo(f"已导入：目标 {rm.target_year} 年，措施 {len(rm.measures)} 条，项目 {len(rm.projects)} 个", err=True)


@click.command("projection", help="按推进规划逐年测算（JSON）：各年结论、各指标状态、首次达标年份、依赖的项目")
@click.option("--county", required=True, help="县代码")
def projection(county: str) -> None:
    from survey.overview.services import as_project, plan_projects, projection_for

    with app_context():
        c = _county(county)
        out = projection_for(c)
        if out.projection is None:
            raise InputError(out.problem or "无法测算", field="--county")
        p = out.projection
        labels = {str(r.id): as_project(r).label() for r in plan_projects(c)}
        doc = {
            "county": c.code, "evaluation_id": out.evaluation.id if out.evaluation else None,
            "base_year": p.base_year, "target_year": p.target_year, "verdict_year": p.verdict_year,
            "years": [{"year": y.year, "verdict": y.verdict, "projects": [labels.get(k, k) for k in y.projects],
                       "items": {it.code: it.status for it in y.report.items},
                       "shortfall_totals": [{"item": t.item, "what": t.what, "amount": t.amount, "unit": t.unit}
                                            for t in y.report.shortfall_totals]} for y in p.years],
            "first_pass": dict(p.first_pass),
            "depends_on": {k: [labels.get(x, x) for x in v] for k, v in p.depends_on.items()},
            "remaining": p.remaining(), "assumptions": list(p.assumptions),
        }
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2))


commands = [region, roadmap, projection]
