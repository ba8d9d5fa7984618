"""Respondent groups of the social-recognition survey (docs/rules.md §6, national list)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    key: str
    label: str  # Chinese name as printed on posters and accepted in responses files
    school_linked: bool  # answers at a school's link (weights N_gs/n_gs) or county-wide
    population: str | None  # frame column giving N_gs: "students", "teachers", "one" or None


GROUPS: dict[str, Group] = {
    g.key: g
    for g in (
        Group("student", "学生", True, "students"),
        Group("parent", "家长", True, "students"),
        Group("teacher", "教师", True, "teachers"),
        Group("principal", "校长", True, "one"),
        Group("npc_deputy", "人大代表", False, None),
        Group("cppcc_member", "政协委员", False, None),
        Group("public", "社会人士", False, None),
    )
}

# Chinese names (and a few common synonyms seen in platform exports) -> key.
ALIASES: dict[str, str] = {g.label: g.key for g in GROUPS.values()} | {g.key: g.key for g in GROUPS.values()} | {
    "其他群众": "public",
    "群众": "public",
    "社会群众": "public",
    "学生家长": "parent",
    "专任教师": "teacher",
    "校长(园长)": "principal",
    "人大": "npc_deputy",
    "政协": "cppcc_member",
}


def group_key(value: str) -> str | None:
    """Map an English key or Chinese name to the group key; None when unknown."""
    return ALIASES.get(str(value).strip())
