"""The rule-set's ``recognition`` block, validated (docs/rules.md §6).

Every number and label the estimator uses comes from here: the threshold [N], the
answer scale and which labels approve / disapprove / are 不了解 [P], the 不了解 policy,
the group weights, the quality-filter thresholds, the minimum reported cell size, the
confidence level and the sample-planning inputs ([D] unless the rule-set says otherwise).
Errors name the rule-set file and the dotted field, e.g. ``recognition.filters.speeder_seconds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from evaluator.errors import InstrumentError
from evaluator.groups import GROUPS

DONT_KNOW_POLICIES = ("exclude", "as_no")
WEIGHT_TOLERANCE = 1e-6  # float sums of decimal weights such as 0.4 + 0.2 + …


@dataclass(frozen=True)
class PlanningRules:
    """Inputs of the sample-size planner (planner.plan_sample, population_total_n)."""

    half_width: float
    expected_p: float
    deff: float
    per_mille: float
    minimum_n: int
    min_parent_share: float
    min_schools: int


@dataclass(frozen=True)
class RecognitionRules:
    """The validated ``recognition`` section of a rule-set."""

    threshold: float
    scale: tuple[str, ...]
    approve: tuple[str, ...]
    disapprove: tuple[str, ...]
    dont_know: tuple[str, ...]
    dont_know_policy: str
    group_weights: Mapping[str, float]
    codes: Mapping[int, str]
    speeder_seconds: float
    straightline_fast_seconds: float
    straightline_min_items: int
    min_cell: int
    confidence: float
    census: bool
    planning: PlanningRules
    file: str = ""

    @classmethod
    def from_ruleset(cls, ruleset: Any) -> RecognitionRules:
        """From an ``evaluator.rules.RuleSet`` (its merged ``recognition`` section)."""
        return cls.from_mapping(ruleset.section("recognition"), file=ruleset.path.name)

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, file: str = "",
                     field_prefix: str = "recognition") -> RecognitionRules:
        """Validate a plain mapping; errors name ``file`` and ``field_prefix.<field>``."""
        r = Fields(mapping, file, field_prefix)
        scale = r.labels("scale")
        approve, dont_know = r.labels("approve"), r.labels("dont_know")
        disapprove = r.labels("disapprove", default=tuple(
            s for s in scale if s not in approve and s not in dont_know))
        seen: dict[str, str] = {}
        for name, labels in (("approve", approve), ("disapprove", disapprove), ("dont_know", dont_know)):
            for label in labels:
                if label not in scale:
                    r.fail(name, f"“{label}”不在 scale 中")
                if label in seen:
                    r.fail(name, f"“{label}”同时出现在 {seen[label]} 与 {name} 中")
                seen[label] = name
        missing = [s for s in scale if s not in seen]
        if missing:
            r.fail("scale", f"“{'、'.join(missing)}”未归入 approve、disapprove 或 dont_know")
        if not approve:
            r.fail("approve", "至少需要一个表示认可的选项")
        policy = r.get("dont_know_policy", str, default="exclude")
        if policy not in DONT_KNOW_POLICIES:
            r.fail("dont_know_policy", f"应为 {' 或 '.join(DONT_KNOW_POLICIES)}，实际为“{policy}”")
        weights = validate_group_weights(r.get("group_weights", Mapping), file=file,
                                         field=f"{field_prefix}.group_weights")
        codes_raw = r.get("codes", Mapping, default={i + 1: s for i, s in enumerate(scale)})
        codes: dict[int, str] = {}
        for k, v in codes_raw.items():
            if isinstance(k, bool) or not isinstance(k, int) or v not in scale:
                r.fail("codes", f"应为 整数编码: 量表选项，实际为 {k}: {v}")
            codes[k] = v
        f = r.sub("filters")
        speeder = f.number("speeder_seconds", default=30.0)
        fast = f.number("straightline_fast_seconds", default=60.0)
        p = r.sub("planning")
        planning = PlanningRules(
            half_width=p.fraction("half_width", default=0.03),
            expected_p=p.fraction("expected_p", default=0.85),
            deff=p.number("deff", default=1.5),
            per_mille=p.number("per_mille", default=1.5),
            minimum_n=int(p.number("minimum_n", default=600)),
            min_parent_share=p.fraction("min_parent_share", default=0.5),
            min_schools=int(p.number("min_schools", default=20)),
        )
        return cls(
            threshold=r.fraction("threshold"),
            scale=scale, approve=approve, disapprove=disapprove, dont_know=dont_know,
            dont_know_policy=policy,
            group_weights=weights,
            codes=MappingProxyType(codes),
            speeder_seconds=speeder,
            straightline_fast_seconds=fast,
            straightline_min_items=int(f.number("straightline_min_items", default=2)),
            min_cell=int(r.number("min_cell", default=10)),
            confidence=r.fraction("confidence", default=0.95),
            census=bool(r.get("census", bool, default=False)),
            planning=planning,
            file=file,
        )


def validate_group_weights(weights: Mapping[str, Any], *, file: str | None = None,
                           field: str = "group_weights") -> Mapping[str, float]:
    """Group weights W_g: known group keys, non-negative numbers, summing to 1."""
    out: dict[str, float] = {}
    for key, value in weights.items():
        if key not in GROUPS:
            raise InstrumentError(f"未知的调查对象组别“{key}”，可选：{'、'.join(GROUPS)}",
                                  file=file, field=field)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise InstrumentError(f"组别 {key} 的权重应为非负数，实际为 {value}", file=file, field=field)
        out[key] = float(value)
    total = sum(out.values())
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise InstrumentError(f"组别权重之和应为 1，实际为 {total:.6g}", file=file, field=field)
    return MappingProxyType(out)


class Fields:
    """Typed access to one mapping; errors name the file and the dotted field."""

    def __init__(self, data: Any, file: str, prefix: str) -> None:
        if not isinstance(data, Mapping):
            raise InstrumentError("应为键值映射", file=file, field=prefix)
        self.data, self.file, self.prefix = data, file, prefix

    def fail(self, name: str, message: str) -> None:
        raise InstrumentError(message, file=self.file, field=f"{self.prefix}.{name}")

    def get(self, name: str, kind: type, default: Any = ...) -> Any:
        if name not in self.data or self.data[name] is None:
            if default is ...:
                self.fail(name, "缺少必填字段")
            return default
        value = self.data[name]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.fail(name, f"类型不对：{value!r}")
        return value

    def number(self, name: str, default: Any = ...) -> float:
        value = self.get(name, int | float, default)
        if not value >= 0:
            self.fail(name, f"应为非负数，实际为 {value}")
        return float(value)

    def fraction(self, name: str, default: Any = ...) -> float:
        value = self.number(name, default)
        if not 0 < value < 1:
            self.fail(name, f"应在 0 与 1 之间，实际为 {value}")
        return value

    def labels(self, name: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(name, list | tuple, default)
        if any(not isinstance(v, str) or not v.strip() for v in value):
            self.fail(name, "应为非空文字选项的列表")
        if len(set(value)) != len(value):
            self.fail(name, "选项重复")
        return tuple(value)

    def sub(self, name: str) -> Fields:
        return Fields(self.get(name, Mapping, default={}), self.file, f"{self.prefix}.{name}")
