"""`demo`: a realistic demo county with an open survey round, simulated answers and an admin."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from survey.commands._app import app_context

if TYPE_CHECKING:
    import numpy as np

DEMO_USER, DEMO_PASSWORD = "demo", "demo-2026"
DEMO_ACCOUNTS = ((DEMO_USER, "admin"), ("demo_staff", "staff"), ("demo_eval", "evaluator"))
DEMO_ROUND = "演示：2026年社会认可度调查"
FILL_SHARE = 0.7  # simulated answers fill about this share of each quota


def _simulate(rnd, catalogue, rng: np.random.Generator) -> int:
    """Answers shaped like real rounds: mostly approving, some 不了解, a few speeders."""
    from survey.models import utcnow
    from survey.pins import round_questionnaire
    from survey.services.responses import Fingerprint, RefusedResponse, load_entry, record_response

    now, stored = utcnow(), 0
    for ln in rnd.links:
        q = round_questionnaire(rnd, catalogue, ln.group)  # the version pinned to the round
        n = int(round(ln.quota * FILL_SHARE * rng.uniform(0.7, 1.2)))
        mood = rng.uniform(0.78, 0.97)  # this cell's approval level
        for _ in range(min(n, ln.quota)):
            fast = rng.random() < 0.04
            duration = float(rng.uniform(8, 28) if fast else rng.gamma(6, 16))
            if fast and rng.random() < 0.5:
                answers = {it.id: "满意" for it in q.items}
            else:
                answers = {}
                for it in q.items:
                    r = rng.random()
                    answers[it.id] = ("不了解" if r < 0.05 else
                                      str(rng.choice(q.scale[:3], p=[0.6, 0.28, 0.12])) if r < 0.05 + mood * 0.95
                                      else "不满意")
            fp = Fingerprint(secrets.token_hex(16), secrets.token_hex(16), str(rng.choice(["wechat-android", "wechat-ios", "browser-android"])))
            submitted = now - timedelta(minutes=float(rng.uniform(1, 60 * 24 * 5)))
            if submitted.astimezone(ZoneInfo("Asia/Shanghai")).hour < 6:  # people answer in the day and evening
                submitted -= timedelta(hours=8)
            try:
                record_response(entry=load_entry(ln.code), questionnaire=q, answers=answers, idempotency_key=secrets.token_hex(16),
                                started_at=submitted - timedelta(seconds=duration), fp=fp, now=submitted)
            except RefusedResponse:
                break
            stored += 1
    return stored


@click.command("demo", help="载入演示县（学校、指标数据、进行中的调查和模拟回答）及演示管理员；可重复运行")
@click.option("--seed", default=0, show_default=True, help="随机种子")
def demo(seed: int) -> None:
    from werkzeug.security import generate_password_hash

    from evaluator.roster import read_roster
    from evaluator.workbook import demo_frames, demo_workbook
    from survey.config import INSTANCE
    from survey.db import cli_transaction, db
    from survey.instruments import catalogue
    from survey.models import SurveyRound, User
    from survey.services.evaluations import run_evaluation
    from survey.services.rounds import get_or_create_county, open_round, recognition_rules
    from survey.services.users import create_user

    county_info = demo_frames(seed)["county"]
    folder = INSTANCE / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    workbook = demo_workbook(folder / "演示县数据.xlsx", seed=seed)
    with app_context(), cli_transaction():
        county = get_or_create_county(str(county_info["county_code"]), str(county_info["county_name"]))
        accounts = {}
        for username, role in DEMO_ACCOUNTS:
            user = db.session.scalar(select(User).where(User.username == username))
            if user is None:
                user = create_user(username, DEMO_PASSWORD, role, [] if role == "admin" else [county],
                                   check_strength=False)  # the demo's password is published in the README
            else:  # a demo: put the known password back
                user.password_hash, user.active = generate_password_hash(DEMO_PASSWORD), True
            accounts[role] = user
        rnd = db.session.scalar(select(SurveyRound).where(SurveyRound.county_id == county.id,
                                                          SurveyRound.name == DEMO_ROUND))
        stored = 0
        if rnd is None:
            rnd = open_round(county=county, name=DEMO_ROUND, roster=read_roster(workbook), catalogue=catalogue(),
                             rules=recognition_rules("national-2017"), stop_when_full=True)
            import numpy as np

            stored = _simulate(rnd, catalogue(), np.random.default_rng(seed))
            db.session.flush()
            run_evaluation(user=accounts["admin"], workbook_name=workbook.name, workbook_bytes=workbook.read_bytes(),
                           ruleset="national-2017", round=rnd, catalogue=catalogue())
        from survey.overview.demo import load_demo_overview  # 演示市 and the county's roadmap

        load_demo_overview(county, accounts["admin"], accounts.get("evaluator"))
        summary = f"演示县：{county.name}（{county.code}），{len(rnd.schools)} 所学校；调查轮次 {rnd.id}"
    click.echo(summary + (f"，已模拟 {stored} 份回答" if stored else "（已存在，未重复创建）"))
    click.echo(f"演示数据表：{workbook}")
    click.echo("启动服务：python run.py serve，然后打开 http://127.0.0.1:5000/login")
    click.echo(f"登录：用户名 {DEMO_USER}（管理员），密码 {DEMO_PASSWORD}；"
               f"同一密码的演示账号：demo_staff（本县工作人员）、demo_eval（评估人员）")


commands = [demo]
