"""Reading responses files (docs/interfaces.md §3) from CSV or XLSX, including exports of
survey platforms such as 问卷星 after a column mapping.

The frame returned has the columns group, school_code, duration_seconds (NaN when
unknown), optional response_id / submitted_at, and one column per item holding answer
labels of the rule-set's scale or NaN. Its index is the row number the user sees in the
file (the header is row 1) and is named ``row``, so later errors can name the row.

Column mapping (``mapping``; a dict, a YAML file path, or the preset name ``"wjx"``):

    columns:  {<header in the file>: <item id or meta column>}   # exact headers
    match_item_text: true    # headers that are question texts (after stripping 问卷星's
                             # "1、" numbering) map to the item ids of the questionnaires
    codes: true | {1: 满意, 2: 比较满意, …}   # numeric answer codes -> labels
                             # (true = the rule-set's ``codes``)
    groups: {<value in the file>: <group key>}   # extra group names
    ignore: [<header>, …]    # platform columns that are not answers (IP, 来源, 总分 …)

Chinese headers of the meta columns are always recognised (组别/调查对象/身份,
学校代码, 作答时长/所用时间/答题时长, 提交时间/提交答卷时间, 序号/答卷编号).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from evaluator.errors import InputError
from evaluator.groups import ALIASES
from evaluator.recognition.estimator import questionnaire_texts, recognize
from evaluator.recognition.result import RecognitionResult
from evaluator.recognition.rules import RecognitionRules
from evaluator.workbook.coerce import column_letter as _letter
from evaluator.workbook.read import read_csv_rows as _read_csv_rows
from evaluator.workbook.schema import SCHOOL_COLUMNS

META_HEADERS = {
    "group": "group", "组别": "group", "调查对象": "group", "身份": "group", "您的身份": "group",
    "school_code": "school_code", "学校代码": "school_code", "学校编码": "school_code",
    "duration_seconds": "duration_seconds", "作答时长": "duration_seconds", "所用时间": "duration_seconds",
    "答题时长": "duration_seconds", "作答时长（秒）": "duration_seconds",
    "submitted_at": "submitted_at", "提交时间": "submitted_at", "提交答卷时间": "submitted_at",
    "response_id": "response_id", "序号": "response_id", "答卷编号": "response_id",
}
PRESETS: dict[str, dict[str, Any]] = {
    # 问卷星 (wjx.cn) "按选项文本" or "按选项序号" exports: question-text headers, 所用时间 "125秒",
    # and platform columns that are not answers
    "wjx": {"match_item_text": True, "codes": True,
            "ignore": ["来源", "来源详情", "来自IP", "总分", "填写设备", "操作系统", "浏览器", "答题序号"]},
}
_NUMBERING = re.compile(r"^\s*(?:[Qq]?\d+(?:\.\d+)*\s*[、.．:：)）]\s*)")
_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*(?:小时|时))?\s*(?:(\d+(?:\.\d+)?)\s*分(?:钟)?)?\s*"
                       r"(?:(\d+(?:\.\d+)?)\s*秒?)?\s*$")


def load_mapping(mapping: Mapping[str, Any] | str | Path | None) -> dict[str, Any]:
    """A mapping dict from a dict, a preset name or a YAML file (errors name the file)."""
    if mapping is None:
        return {}
    if isinstance(mapping, Mapping):
        return dict(mapping)
    text = str(mapping)
    if text in PRESETS:
        return dict(PRESETS[text])
    path = Path(text)
    if not path.exists():
        raise InputError(f"列映射文件不存在（内置预设：{'、'.join(PRESETS)}）", file=text, field="--mapping")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"列映射文件格式错误：{exc}", file=path.name) from None
    if not isinstance(data, Mapping):
        raise InputError("列映射文件应为键值映射", file=path.name)
    return {**PRESETS.get(str(data.get("preset", "")), {}), **data}


def _norm_text(text: str) -> str:
    text = _NUMBERING.sub("", str(text))
    return re.sub(r"[\s？?。.，,：:（）()“”\"'、]", "", text)


def parse_duration(value: Any) -> float:
    """Seconds from 125, "125", "125秒", "2分5秒", "1小时2分"; NaN when empty; ValueError otherwise."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if not text:
        return float("nan")
    m = _DURATION.match(text)
    if not m or not any(m.groups()):
        raise ValueError(text)
    h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return h * 3600 + mi * 60 + s


def _read_table(path: Path, sheets: tuple[str, ...] = ("responses",)
                ) -> tuple[list[str], list[list[Any]], str | None]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from evaluator.workbook.xlsx import read_sheets

        def choose(names: list[str]) -> list[str]:
            return [next((n for n in sheets if n in names), names[0])]

        ((sheet, table),) = read_sheets(path, path.name, choose=choose).items()
        rows = [list(r) for r in table]
    elif path.suffix.lower() in (".csv", ".txt"):
        rows = [list(r) for r in _read_csv_rows(path)]
        sheet = None
    else:
        raise InputError("文件应为 .csv 或 .xlsx", file=path.name)
    if not rows:
        raise InputError("文件为空", file=path.name, sheet=sheet)
    header = ["" if h is None else str(h).strip() for h in rows[0]]
    return header, rows[1:], sheet


def read_responses(path: str | Path, rules: RecognitionRules,
                   mapping: Mapping[str, Any] | str | Path | None = None,
                   item_texts: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read and validate a responses file; errors name the file, sheet, row and column.

    ``item_texts`` (item id -> wording) serves ``match_item_text``; by default the national
    questionnaires' texts."""
    path = Path(path)
    if not path.exists():
        raise InputError("文件不存在", file=str(path), field="--responses")
    m = load_mapping(mapping)
    header, rows, sheet = _read_table(path)
    file = path.name
    explicit = {str(k).strip(): str(v) for k, v in (m.get("columns") or {}).items()}
    by_text: dict[str, str] = {}
    if m.get("match_item_text"):
        if item_texts is None:
            item_texts = questionnaire_texts(None)
        by_text = {_norm_text(t): i for i, t in item_texts.items()}
    ignore = {_norm_text(h) for h in m.get("ignore") or ()}
    meta = {_norm_text(k): v for k, v in META_HEADERS.items()}
    names: list[str] = []
    for j, h in enumerate(header):
        if h in explicit:
            name = explicit[h]
        elif _norm_text(h) in ignore and h:
            name = f"_ignored{j}"
        elif h in META_HEADERS or _norm_text(h) in meta:
            name = META_HEADERS.get(h) or meta[_norm_text(h)]
        elif _norm_text(h) in by_text:
            name = by_text[_norm_text(h)]
        elif not h:
            if all(j >= len(r) or r[j] in (None, "") for r in rows):
                name = f"_blank{j}"
                names.append(name)
                continue
            raise InputError("列标题为空", file=file, sheet=sheet, row=1, column=_letter(j))
        else:
            name = h
        if name in names:
            raise InputError(f"列“{name}”重复出现", file=file, sheet=sheet, row=1, column=h or _letter(j))
        names.append(name)
    for need in ("group", "school_code"):
        if need not in names:
            raise InputError(f"缺少列 {need}（中文表头可用：" + "、".join(
                k for k, v in META_HEADERS.items() if v == need and k != need) + "）",
                file=file, sheet=sheet, row=1)
    width = len(names)
    data = [(list(r) + [None] * width)[:width] for r in rows if any(c not in (None, "") for c in r)]
    index = [i + 2 for i, r in enumerate(rows) if any(c not in (None, "") for c in r)]
    df = pd.DataFrame(data, columns=names, index=pd.Index(index, name="row"), dtype=object)
    df = df[[c for c in names if not c.startswith(("_blank", "_ignored"))]]
    df = df.map(lambda x: None if x is None or (isinstance(x, str) and not x.strip()) else x)

    extra_groups = {str(k).strip(): str(v) for k, v in (m.get("groups") or {}).items()}
    if extra_groups:
        df["group"] = df["group"].map(lambda x: extra_groups.get(str(x).strip(), x) if x is not None else x)
    groups = df["group"].map(lambda x: ALIASES.get(str(x).strip()) if x is not None else None)
    df["group"] = [k if isinstance(k, str) else raw for k, raw in zip(groups, df["group"], strict=True)]
    df["school_code"] = df["school_code"].map(_code)
    if "duration_seconds" in df.columns:
        dur = []
        for row, value in df["duration_seconds"].items():
            try:
                dur.append(parse_duration(value))
            except ValueError:
                raise InputError(f"无法识别的作答时长“{value}”（应为秒数，或如“2分5秒”）", file=file,
                                 sheet=sheet, row=int(row), column="duration_seconds") from None
        df["duration_seconds"] = np.array(dur, dtype=float)
    else:
        df["duration_seconds"] = np.nan
    codes = m.get("codes")
    code_map: Mapping[Any, str] = rules.codes if codes is True else (codes or {})
    code_lookup = {str(k): v for k, v in code_map.items()}
    meta = set(META_HEADERS.values())
    for col in df.columns:
        if col in meta or col.startswith("flag_"):
            continue
        df[col] = df[col].map(lambda x: _label(x, code_lookup))
    return df


def _label(value: Any, code_lookup: Mapping[str, str]) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return code_lookup.get(text, text)


def _code(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()



def read_schools(path: str | Path) -> pd.DataFrame:
    """The sampling frame from the schools sheet of a data workbook or a schools CSV
    (docs/interfaces.md §2; English keys or Chinese headers): school_code, students =
    students_primary + students_junior (the compulsory stages the survey is about; the
    senior students of a 完全中学 are out of scope, as in the survey service's roster),
    teachers = teachers_primary + teachers_junior. Empty cells stay missing (NaN), never 0."""
    path = Path(path)
    if not path.exists():
        raise InputError("文件不存在", file=str(path), field="--schools")
    header, rows, sheet = _read_table(path, ("schools", "学校"))
    wanted = ("school_code", "students_primary", "students_junior", "students_senior",
              "teachers_primary", "teachers_junior", "students", "teachers")
    names = {c.key: c.zh for c in SCHOOL_COLUMNS if c.key in wanted} | {
        "students": "在校生数", "teachers": "专任教师数"}  # a plain frame (school_code, students, teachers)
    pos: dict[str, int] = {}
    for j, h in enumerate(header):
        for key, zh in names.items():
            if h in (key, zh) or h.startswith((f"{key}（", f"{key}(")) or h.startswith(f"{zh}（{key}"):
                pos[key] = j
    if "school_code" not in pos:
        raise InputError("缺少列 school_code（学校代码）", file=path.name, sheet=sheet, row=1)
    out: dict[str, list[Any]] = {k: [] for k in wanted}
    for i, r in enumerate(rows, start=2):
        if not any(c not in (None, "") for c in r):
            continue
        for key in wanted:
            value = r[pos[key]] if key in pos and pos[key] < len(r) else None
            if key == "school_code":
                code = _code(value)
                if not code:
                    raise InputError("学校代码为空", file=path.name, sheet=sheet, row=i, column=names[key])
                out[key].append(code)
                continue
            if value in (None, ""):
                out[key].append(np.nan)
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = -1.0
            if not number >= 0:
                raise InputError(f"应为非负数，实际为“{value}”", file=path.name, sheet=sheet, row=i,
                                 column=names[key])
            out[key].append(number)
    f = pd.DataFrame(out)
    dup = f["school_code"].duplicated()
    if dup.any():
        raise InputError(f"学校代码 {f['school_code'][dup].iloc[0]} 重复", file=path.name, sheet=sheet,
                         column=names["school_code"])
    students = f[["students"] if "students" in pos else ["students_primary", "students_junior"]]
    teachers = f[["teachers"] if "teachers" in pos else ["teachers_primary", "teachers_junior"]]
    return pd.DataFrame({
        "school_code": f["school_code"],
        "students": students.sum(axis=1, min_count=1),
        "teachers": teachers.sum(axis=1, min_count=1),
    })


def rules_of(ruleset: Any) -> RecognitionRules:
    """RecognitionRules from a RuleSet, a rule-set name or path, RecognitionRules or None
    (the national default)."""
    if isinstance(ruleset, RecognitionRules):
        return ruleset
    if ruleset is None or isinstance(ruleset, str | Path):
        from evaluator.rules import DEFAULT_RULESET, load_ruleset

        ruleset = load_ruleset(ruleset or DEFAULT_RULESET)
    return RecognitionRules.from_ruleset(ruleset)


def recognize_file(path: str | Path, schools_df: pd.DataFrame | None, ruleset: Any = None,
                   weights: Mapping[str, float] | None = None,
                   mapping: Mapping[str, Any] | str | Path | None = None) -> RecognitionResult:
    """Read a responses file (:func:`read_responses`), validate it and estimate
    (:func:`evaluator.recognition.recognize`); errors name the file, row and column."""
    rules = rules_of(ruleset)
    responses = read_responses(path, rules, mapping)
    return recognize(responses, schools_df, rules, weights, file=Path(path).name)
