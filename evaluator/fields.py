"""Chinese names of data-workbook fields, for the 缺少数据 lists of PENDING items.

A pending item names what is missing the way the bureau sees it in the workbook: the
school by name and the field by its Chinese header (``一小：教学仪器设备值``), a county
key by its Chinese label (``当地公务员年平均工资收入（元）``), never a raw key such as
``equipment_value``. The names come from the workbook schema (evaluator.workbook.schema).
"""

from __future__ import annotations

import re
from functools import cache

from evaluator.workbook.schema import (
    CLASS_COLUMNS,
    COUNTY_KEYS,
    ROOM_COLUMNS,
    SCHOOL_COLUMNS,
    SUBJECT_NAMES,
)

_ITEM_PREFIX = re.compile(r"^\d\.\d+\s*")
_MONITOR = re.compile(r"^monitoring_(?P<subject>.+)_(?P<what>level|diff)$")
SHEET_NAMES = {"classes": "班级明细（classes 工作表）", "rooms": "音乐、美术专用教室明细（rooms 工作表）",
               "responses": "社会认可度调查答卷"}


@cache
def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for cols in (SCHOOL_COLUMNS, CLASS_COLUMNS, ROOM_COLUMNS):
        for c in cols:
            names.setdefault(c.key, c.zh)
    for k in COUNTY_KEYS:
        names[k.key] = _ITEM_PREFIX.sub("", k.zh).replace("（是=存在）", "")
    return names


def field_zh(key: str) -> str:
    """The Chinese name of a workbook field or county key (the key itself if unknown)."""
    if key in SHEET_NAMES:
        return SHEET_NAMES[key]
    m = _MONITOR.match(key)
    if m:
        subject = SUBJECT_NAMES.get(m["subject"], m["subject"])
        return f"{subject}{'学业水平等级' if m['what'] == 'level' else '校际差异率'}"
    return _names().get(key, key)


def school_field(school_name: object, key: str) -> str:
    """``一小：教学仪器设备值``."""
    return f"{school_name}：{field_zh(key)}"


def raw_keys() -> frozenset[str]:
    """Every field key of the workbook schema (tests check none leaks into a Chinese text)."""
    return frozenset(_names())
