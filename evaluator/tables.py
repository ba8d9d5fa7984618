"""One home for the fixed tables of the domain: school types, stages and which stages a
school type teaches (教督〔2017〕6号 and the data workbook's school sheet).

Other modules import these names (``evaluator.rules`` re-exports them for old imports);
the Chinese display words of statuses and verdicts live in ``evaluator.labels``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: 学校类型 as the school sheet spells them (小学 … 教学点).
SCHOOL_TYPES: tuple[str, ...] = ("小学", "初中", "九年一贯制", "十二年一贯制", "完全中学", "教学点")
#: School types with more than one 学段: judged per stage part (e.g. 实验学校（小学部）).
SPLIT_TYPES: tuple[str, ...] = ("九年一贯制", "十二年一贯制", "完全中学")
#: The two stages of compulsory education the national indicators judge.
STAGES: tuple[str, ...] = ("primary", "junior")
#: Chinese name of every stage key (senior appears in split schools' student counts).
STAGE_LABELS: Mapping[str, str] = MappingProxyType({"primary": "小学", "junior": "初中", "senior": "高中"})
#: Which 学段 each school type may have students in.
TYPE_STAGES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "小学": ("primary",), "教学点": ("primary",), "初中": ("junior",),
    "九年一贯制": ("primary", "junior"), "十二年一贯制": ("primary", "junior", "senior"),
    "完全中学": ("junior", "senior"),
})
