"""`recognition`: the social-recognition result as JSON (docs/interfaces.md §1, §4).

    python run.py recognition --responses FILE [--schools FILE] [--rules RULESET]
                              [--weights parent=0.45,student=0.25,…] [--mapping wjx|FILE.yaml] [--census]
    python run.py recognition --round ROUND_ID [...]   (responses and roster from the database)

Prints the ``recognition`` object of report.json on stdout. Bad input raises InputError,
which the CLI turns into a Chinese message on stderr and exit status 2.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import click

from evaluator.errors import InputError
from evaluator.groups import group_key


def parse_weights(text: str) -> dict[str, float]:
    """``parent=0.45,student=0.25,…`` (English keys or Chinese names) -> {group: weight}.
    Groups not named get weight 0; the named ones must be non-negative and sum to 1
    (checked by the estimator's validator)."""
    # imported here: the estimator package would slow every other command's start-up
    from evaluator.recognition.rules import WEIGHT_TOLERANCE

    out: dict[str, float] = {}
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        key = group_key(name.strip())
        if not sep or key is None:
            raise InputError(f"无法识别“{part}”，应为 组别=权重，例如 parent=0.45（组别：student、parent、teacher、"
                             "principal、npc_deputy、cppcc_member、public 或中文名）", field="--weights")
        try:
            weight = float(value)
        except ValueError:
            raise InputError(f"组别 {key} 的权重“{value.strip()}”不是数值", field="--weights") from None
        if key in out:
            raise InputError(f"组别 {key} 出现了两次", field="--weights")
        if not weight >= 0:
            raise InputError(f"组别 {key} 的权重不能为负数", field="--weights")
        out[key] = weight
    if not out:
        raise InputError("没有给出任何组别权重", field="--weights")
    total = sum(out.values())
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise InputError(f"组别权重之和应为 1，实际为 {total:.6g}", field="--weights")
    return out


def _from_round(round_id: int, rules: str | None) -> tuple[Any, Any, str]:
    """Responses and the roster's N_gs frame of a survey round in the database."""
    from survey.commands._app import app_context
    from survey.commands.rounds import round_by_id
    from survey.instruments import catalogue
    from survey.services.round_recognition import round_inputs

    with app_context():
        rnd = round_by_id(round_id)
        data, frame = round_inputs(rnd, catalogue())
        return data, frame, rules or rnd.ruleset


@click.command("recognition")
@click.option("--responses", "responses", type=click.Path(path_type=Path),
              help="答卷文件（CSV 或 XLSX，docs/interfaces.md §3）")
@click.option("--round", "round_id", type=int, help="改为读取数据库中该调查轮次的答卷与学校名册")
@click.option("--schools", "schools", type=click.Path(path_type=Path),
              help="学校名册：数据工作簿（schools 表）或学校 CSV，用于组内权重 N/n")
@click.option("--rules", "rules", default=None, help="规则集名称或 .yaml 路径（默认国家 2017 标准）")
@click.option("--weights", "weights", default=None, help="临时替换组别权重，如 parent=0.45,student=0.25,…（未列出的组别权重为 0）")
@click.option("--mapping", "mapping", default=None, help="问卷平台导出的列映射：预设 wjx（问卷星）或 YAML 文件")
@click.option("--census", is_flag=True, help="同时给出普查口径（全部学校参与调查，有限总体校正）")
def recognition_command(responses: Path | None, round_id: int | None, schools: Path | None, rules: str | None,
                        weights: str | None, mapping: str | None, census: bool) -> None:
    """社会认可度估计（加权比率估计、泰勒线性化标准误、logit 置信区间），输出 JSON。"""
    from evaluator.recognition import read_responses, read_schools, recognize, rules_of

    if (responses is None) == (round_id is None):
        raise InputError("请给出 --responses 答卷文件或 --round 调查轮次（二选一）", field="--responses")
    group_weights = parse_weights(weights) if weights is not None else None
    frame = read_schools(schools) if schools is not None else None
    if round_id is not None:
        data, round_frame, rules = _from_round(round_id, rules)
        frame = round_frame if frame is None else frame
        name = f"调查轮次 {round_id}"
    elif not responses.exists():
        raise InputError("答卷文件不存在", file=str(responses), field="--responses")
    rec_rules = rules_of(rules)
    if census:
        rec_rules = dataclasses.replace(rec_rules, census=True)
    if responses is not None:
        data = read_responses(responses, rec_rules, mapping)
        name = responses.name
    result = recognize(data, frame, rec_rules, group_weights, file=name)
    click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, allow_nan=False))


commands: list[click.Command] = [recognition_command]
