"""Commands `template`, `evaluate` and `rules check` (docs/interfaces.md §1).

Everything is validated before anything is written; reports are written into a
temporary directory beside --out and moved into place, so bad input leaves --out
untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from evaluator.errors import InputError
from evaluator.labels import VERDICT_SHORT


def _publish(tmp: Path, target: Path, mode: int) -> None:
    """Rename a finished temporary file or directory into place with the usual permissions
    (mkstemp/mkdtemp create them private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, mode & ~umask)
    os.replace(tmp, target)


@click.command("template")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="输出的空白数据工作簿（.xlsx）")
@click.option("--rules", "rules_name", default=None,
              help="规则集名称或文件路径：模板包含该规则集地方指标的数据字段（默认 national-2017）")
def template(out: Path, rules_name: str | None) -> None:
    """写出空白数据工作簿（含字段说明和示例行）。"""
    from evaluator.rules import load_ruleset
    from evaluator.workbook import write_template

    if out.suffix.lower() != ".xlsx":
        raise InputError("模板文件名应以 .xlsx 结尾", field="--out")
    rules = load_ruleset(rules_name) if rules_name else None  # None: the national template
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=out.parent)
    os.close(fd)
    try:
        write_template(tmp, rules)
        _publish(Path(tmp), out, 0o666)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    click.echo(f"已写出数据模板：{out}")


def _evaluate(data: Path, workbook: Any, rules: Any, responses: Path | None, round_id: str | None) -> dict[str, Any]:
    """``survey.services.evaluations.evaluate_inputs`` (the web workspace's evaluation too), with
    the round read from the database (DATABASE_URL) when --round is given."""
    from survey.services.evaluations import evaluate_inputs

    if round_id is None:
        return evaluate_inputs(workbook, rules, workbook_name=data.name, responses_path=responses)
    from survey.commands._app import app_context
    from survey.db import db
    from survey.instruments import catalogue
    from survey.models import SurveyRound

    if responses is not None:
        raise InputError("--responses 与 --round 只能选一个", field="--round")
    if not round_id.isdigit() or not 0 < int(round_id) < 2**31:
        raise InputError(f"调查轮次编号应为数字，实际为“{round_id}”", field="--round")
    with app_context():
        rnd = db.session.get(SurveyRound, int(round_id))
        if rnd is None:
            raise InputError(f"调查轮次 {round_id} 不存在", field="--round")
        report = evaluate_inputs(workbook, rules, workbook_name=data.name, round=rnd, catalogue=catalogue())
        db.session.rollback()  # read only
    return report


def _write(report: dict[str, Any], out: Path) -> list[Path]:
    """Write every report file into a temporary sibling directory, then move them into ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".evaluate-", dir=out.parent))
    try:
        from evaluator.report import write_reports

        written = [Path(p) for p in write_reports(report, tmp)]
        if not out.exists():  # one rename: the directory appears complete or not at all
            _publish(tmp, out, 0o777)
            return [out / p.name for p in written]
        final = []
        for p in written:
            target = out / p.name
            os.replace(p, target)
            final.append(target)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@click.command("evaluate")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path),
              help="数据工作簿（.xlsx）或 CSV 文件夹")
@click.option("--responses", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="社会认可度答卷（CSV/XLSX）")
@click.option("--round", "round_id", default=None, help="调查轮次编号")
@click.option("--rules", "rules_name", default=None, help="规则集名称或文件路径（默认 national-2017）")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="报告输出目录")
def evaluate(data: Path, responses: Path | None, round_id: str | None, rules_name: str | None, out: Path) -> None:
    """完整评估：写出 report.json、report.html、report.docx、report.xlsx。"""
    from evaluator.rules import DEFAULT_RULESET, load_ruleset
    from evaluator.workbook import read_workbook

    if out.exists() and not out.is_dir():
        raise InputError("输出路径已存在且不是文件夹", file=str(out), field="--out")
    rules = load_ruleset(rules_name or DEFAULT_RULESET)
    workbook = read_workbook(data, rules)
    report = _evaluate(data, workbook, rules, responses, round_id)  # plain JSON: checked before writing
    written = _write(report, out)
    click.echo(f"结论：{VERDICT_SHORT[report['verdict']]}（{report['verdict']}）")
    for reason in report["reasons"]:
        click.echo(f"  - {reason}")
    for total in report["shortfall_totals"]:
        click.echo(f"  缺口 {total['item']} {total['what']}：共{total['amount']:g}{total['unit']}（{total['schools']}所学校）")
    for path in written:
        click.echo(f"已写出：{path}")


@click.group("rules")
def rules_group() -> None:
    """规则集。"""


@rules_group.command("check")
@click.argument("ruleset", required=False)
def rules_check(ruleset: str | None) -> None:
    """校验规则集（不给名称时校验全部）和问卷。"""
    from evaluator.integrity import IntegrityRules
    from evaluator.questionnaire import load_catalogue
    from evaluator.rules import available_rulesets, load_ruleset

    names = [ruleset] if ruleset else available_rulesets()
    for name in names:
        rs = load_ruleset(name)
        IntegrityRules.from_ruleset(rs)  # recognition.integrity: the fraud-signal thresholds
        local = f"；地方指标 {'、'.join(i.code for i in rs.local_items)}" if rs.local_items else ""
        click.echo(f"规则集 {rs.id} v{rs.version}：通过（{'、'.join(p.name for p in rs.sources)}；sha256 {rs.sha256[:12]}"
                   f"{local}）")
    catalogue = load_catalogue()
    click.echo(f"问卷：{len(catalogue.questionnaires)} 份，通过")


commands: list[click.Command] = [template, evaluate, rules_group]
