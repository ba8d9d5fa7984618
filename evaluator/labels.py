"""One home for the Chinese words the reports, the command line and the web pages print for
the evaluation's codes: verdicts, item statuses, areas.

report.json keeps the codes (``recognized`` … , ``pass``/``fail``/``pending``/``n/a``,
docs/interfaces.md §4); only their display comes from here. "pending" is 待定 everywhere, as the
printed report's 是否达标 column has it (evaluator/report/REPORT_SCHEMA.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: A verdict as a headline (web pages, the command line, overview sheets).
VERDICT_SHORT: Mapping[str, str] = MappingProxyType({
    "recognized": "达到优质均衡发展要求",
    "not_recognized": "未达到优质均衡发展要求",
    "incomplete": "数据不完整，暂不能认定",
})
#: A verdict as the printed report's 结论 sentence.
VERDICT_SENTENCE: Mapping[str, str] = MappingProxyType({
    "recognized": "达到县域义务教育优质均衡发展督导评估认定标准",
    "not_recognized": "未达到县域义务教育优质均衡发展督导评估认定标准",
    "incomplete": "评估未完成：存在待定指标，暂不能作出认定结论",
})

PENDING_WORD = "待定"
NOT_APPLICABLE_WORD = "不适用"
#: An item status as a word (达标 / 未达标 / 待定 / 不适用): web pages, reasons, recognition.
STATUS_WORD: Mapping[str, str] = MappingProxyType({
    "pass": "达标", "fail": "未达标", "pending": PENDING_WORD, "n/a": NOT_APPLICABLE_WORD})
#: The 是否达标 column of seed 002 (是 / 否 / 待定 / 不适用). Veto items (4.x) keep the seed's
#: polarity: status "pass" means the practice is absent, which the seed shows as 是.
COMPLIANCE: Mapping[str, str] = MappingProxyType({
    "pass": "是", "fail": "否", "pending": PENDING_WORD, "n/a": NOT_APPLICABLE_WORD})
#: Whether the recognition score reaches the standard, inside a sentence (…达到85%的标准).
REACHES: Mapping[str, str] = MappingProxyType({"pass": "达到", "fail": "未达到", "pending": "暂无法判定是否达到"})

#: The five areas of the national table, in report order.
AREAS: tuple[tuple[str, str], ...] = (
    ("resources", "资源配置"),
    ("assurance", "政府保障程度"),
    ("quality", "教育质量"),
    ("veto", "否决性指标"),
    ("recognition", "社会认可度"),
)
