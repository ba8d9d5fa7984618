"""Rule-sets as people choose them: by their Chinese title, the national 2017 rules first and
the default everywhere (the files are frozen once used, so titles are read once)."""

from __future__ import annotations

from functools import cache

from wtforms.fields.choices import SelectChoice

from evaluator.rules import DEFAULT_RULESET, available_rulesets, load_ruleset


@cache
def ruleset_title(name: str) -> str:
    try:
        return load_ruleset(name).title
    except Exception:  # noqa: BLE001 - a broken file still shows by its name; `rules check` reports it
        return name


def ruleset_choices() -> list[SelectChoice]:
    names = sorted(available_rulesets(), key=lambda n: (n != DEFAULT_RULESET, n))
    return [SelectChoice(n, f"{ruleset_title(n)}（{n}）") for n in names]
