"""The item sums per link × item (migration 0010, issue 12 item 2): equal to the respondent-level
item sums after a refresh, and a database upgraded from 0009 with its cells current rebuilds
them at the next refresh (no round is left without item sums)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from alembic import command
from sqlalchemy import func, select

from survey.db import alembic_config, db
from survey.models import ItemCell, SurveyRound
from survey.services import cell_sums
from survey.services.live_results import page_rules
from tests.survey.helpers import make_round, store_answers
from tests.survey.test_progress_cells import roomy_round
from tests.survey.test_results_cells import _answer_some


def _items_equal(rnd) -> None:
    rules = page_rules(rnd)
    stored = cell_sums.current_frames(rnd, rules)[1]
    direct = cell_sums.direct_frames(rnd, rules)[1]
    keys = ["group", "school_code", "item"]
    cols = ["n", "a", "v", "d", "t"]
    left = stored.set_index(keys)[cols].astype("int64").sort_index()
    right = direct.set_index(keys)[cols].astype("int64").sort_index()
    pd.testing.assert_frame_equal(left, right)
    assert len(left) > 10


def test_item_cells_equal_the_respondent_level_item_sums(app):
    with app.app_context():
        rnd = roomy_round()
        _answer_some(rnd, np.random.default_rng(7), (1, 4))
        _items_equal(rnd)
        db.session.commit()
        _answer_some(rnd, np.random.default_rng(8), (0, 2))  # incrementally
        _items_equal(rnd)
        db.session.commit()


def test_an_upgrade_from_0009_rebuilds_the_cells_at_the_next_refresh(app):
    with app.app_context():
        rnd = make_round()
        for ln in rnd.links:
            store_answers(ln, "满意")
        cell_sums.refresh(rnd, page_rules(rnd))
        db.session.commit()
        round_id = rnd.id
        db.session.remove()
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0009")
        with db.engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        rnd = db.session.get(SurveyRound, round_id)
        assert db.session.scalar(select(func.count()).select_from(ItemCell)) == 0
        _items_equal(rnd)  # the refresh found a rules key of no rules and summed everything again
        db.session.commit()
