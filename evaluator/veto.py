"""否决性指标 (items 4.1–4.6; 教督〔2017〕6号 第十条; docs/rules.md §5).

The county sheet stores whether each practice is *present* (是 = present). Compliance
is derived: present → FAIL, absent → PASS, empty → PENDING. (Seed 002's table writes
是否达标 = 是 on a veto row to mean the practice is absent; we never store that form.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluator.assurance import AreaResult
from evaluator.fields import field_zh
from evaluator.outcome import FAIL, PASS, ItemResult, missing_item
from evaluator.rules import RuleSet

AREA = "veto"


def evaluate_veto(county: Mapping[str, Any], rules: RuleSet) -> AreaResult:
    """Items 4.1–4.6: status "pass" means the practice is absent."""
    items = []
    for v in rules.veto:
        title = rules.item_titles[v.code]
        present = county.get(v.key)
        if present is None:
            items.append(missing_item(v.code, title, AREA, [field_zh(v.key)], "是否存在该情形"))
        elif present is True:
            items.append(ItemResult(v.code, title, AREA, FAIL, f"存在：{v.title}（填报为“是”），一票否决",
                                    f"存在{v.title}的情况。", (), {"present": True}))
        else:
            items.append(ItemResult(v.code, title, AREA, PASS, f"不存在{v.title}（填报为“否”）", "", (),
                                    {"present": False}))
    return AreaResult(tuple(items))
