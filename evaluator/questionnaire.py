"""Questionnaires as versioned data (instruments/questionnaires/<id>.v<version>.yaml).

Loaded and validated into frozen dataclasses; every error names the file and the
field. The national design has three forms that together cover the seven groups
of docs/rules.md §6: 社会卷 (parent, npc_deputy, cppcc_member, public), 校长教师卷
(principal, teacher) and 学生卷 (student).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evaluator.errors import InstrumentError
from evaluator.groups import GROUPS

INSTRUMENTS_DIR = Path(__file__).resolve().parent.parent / "instruments"
QUESTIONNAIRE_DIR = INSTRUMENTS_DIR / "questionnaires"
_FILE_NAME = re.compile(r"^(?P<id>[a-z][a-z0-9_]*)\.v(?P<version>\d+)\.ya?ml$")
_ITEM_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MIN_ITEMS, MAX_ITEMS = 8, 15


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    topic: str
    overall: bool = False


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: int
    title: str
    groups: tuple[str, ...]
    audience: dict[str, str]
    intro: str
    scale: tuple[str, ...]
    items: tuple[Item, ...]
    path: Path
    sha256: str

    @property
    def key(self) -> str:
        """``id.vN``, as recorded with each stored response."""
        return f"{self.id}.v{self.version}"

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)


def _need(data: dict[str, Any], name: str, kind: type, file: str) -> Any:
    if name not in data or data[name] in (None, ""):
        raise InstrumentError("缺少必填字段", file=file, field=name)
    value = data[name]
    if not isinstance(value, kind):
        raise InstrumentError(f"类型应为 {kind.__name__}，实际为 {type(value).__name__}", file=file, field=name)
    return value


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Read and validate one questionnaire file."""
    path = Path(path)
    file = path.name
    m = _FILE_NAME.match(file)
    if not m:
        raise InstrumentError("文件名应为 <编号>.v<版本>.yaml，例如 social.v1.yaml", file=file)
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise InstrumentError(f"YAML 格式错误：{exc}", file=file) from None
    if not isinstance(data, dict):
        raise InstrumentError("文件内容应为键值映射", file=file)

    qid = _need(data, "id", str, file)
    version = _need(data, "version", int, file)
    if (qid, version) != (m["id"], int(m["version"])):
        raise InstrumentError(f"id/version（{qid}/{version}）与文件名不一致", file=file, field="id")
    title = _need(data, "title", str, file)
    intro = _need(data, "intro", str, file)
    groups = _need(data, "groups", list, file)
    for i, g in enumerate(groups):
        if g not in GROUPS:
            raise InstrumentError(f"未知的调查对象“{g}”，可选：{'、'.join(GROUPS)}", file=file, field=f"groups[{i}]")
    audience = _need(data, "audience", dict, file)
    for g in groups:
        if not isinstance(audience.get(g), str) or not audience[g].strip():
            raise InstrumentError("每个调查对象都要写明谁来填写（海报用）", file=file, field=f"audience.{g}")
    scale = _need(data, "scale", list, file)
    if len(scale) < 2 or len(set(scale)) != len(scale) or not all(isinstance(s, str) and s for s in scale):
        raise InstrumentError("答案选项应为至少两个互不相同的文字", file=file, field="scale")

    raw_items = _need(data, "items", list, file)
    if not MIN_ITEMS <= len(raw_items) <= MAX_ITEMS:
        raise InstrumentError(f"题目数应为 {MIN_ITEMS}–{MAX_ITEMS} 道，实际 {len(raw_items)} 道", file=file, field="items")
    items: list[Item] = []
    seen: set[str] = set()
    for i, it in enumerate(raw_items):
        fld = f"items[{i}]"
        if not isinstance(it, dict):
            raise InstrumentError("题目应为键值映射", file=file, field=fld)
        iid = it.get("id")
        if not isinstance(iid, str) or not _ITEM_ID.match(iid):
            raise InstrumentError("题目编号应为小写字母开头的字母数字（≤32 位）", file=file, field=f"{fld}.id")
        if iid in seen:
            raise InstrumentError(f"题目编号“{iid}”重复", file=file, field=f"{fld}.id")
        seen.add(iid)
        text = it.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InstrumentError("缺少题目文字", file=file, field=f"{fld}.text")
        topic = it.get("topic")
        if not isinstance(topic, str) or not topic:
            raise InstrumentError("缺少题目主题（topic）", file=file, field=f"{fld}.topic")
        overall = it.get("overall", False)
        if not isinstance(overall, bool):
            raise InstrumentError("overall 应为 true 或 false", file=file, field=f"{fld}.overall")
        items.append(Item(iid, text.strip(), topic, overall))
    if sum(it.overall for it in items) != 1:
        raise InstrumentError("应有且只有一道总体满意度题（overall: true）", file=file, field="items")

    return Questionnaire(
        id=qid, version=version, title=title.strip(), groups=tuple(groups),
        audience={g: audience[g].strip() for g in groups}, intro=intro.strip(), scale=tuple(scale),
        items=tuple(items), path=path, sha256=hashlib.sha256(raw).hexdigest(),
    )


@dataclass(frozen=True)
class Catalogue:
    """All questionnaires; the newest version of each id serves new rounds."""

    questionnaires: tuple[Questionnaire, ...]

    def get(self, key: str) -> Questionnaire:
        for q in self.questionnaires:
            if q.key == key:
                return q
        raise KeyError(key)

    def current_for(self, group: str) -> Questionnaire:
        """Newest version of the form that serves ``group``."""
        best = [q for q in self.questionnaires if group in q.groups]
        return max(best, key=lambda q: q.version)


def load_catalogue(directory: str | Path = QUESTIONNAIRE_DIR) -> Catalogue:
    """Load every questionnaire and check that the newest versions cover each group once."""
    directory = Path(directory)
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise InstrumentError("没有找到问卷文件", file=str(directory))
    qs = tuple(load_questionnaire(p) for p in files)
    newest: dict[str, Questionnaire] = {}
    for q in qs:
        if q.id not in newest or q.version > newest[q.id].version:
            newest[q.id] = q
    owner: dict[str, str] = {}
    for q in newest.values():
        for g in q.groups:
            if g in owner:
                raise InstrumentError(f"调查对象“{g}”同时出现在 {owner[g]} 和 {q.key} 中", file=q.path.name, field="groups")
            owner[g] = q.key
    missing = [g for g in GROUPS if g not in owner]
    if missing:
        raise InstrumentError(f"以下调查对象没有问卷：{'、'.join(missing)}", file=str(directory))
    return Catalogue(qs)
