"""`users create`: staff accounts (password read from stdin)."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from evaluator.errors import InputError
from survey.commands._app import app_context
from survey.models import ROLES, County

users = click.Group("users", help="管理账号")


@users.command("create", help="创建账号；密码从标准输入读取")
@click.option("--username", required=True, help="用户名")
@click.option("--role", required=True, type=click.Choice(ROLES), help="角色")
@click.option("--county", "counties", multiple=True, help="县代码（staff 一个；evaluator 可多个）")
def create(username: str, role: str, counties: tuple[str, ...]) -> None:
    password = sys.stdin.readline().rstrip("\r\n")
    from survey.db import cli_transaction, db
    from survey.services.users import create_user

    with app_context(), cli_transaction():
        found = []
        for code in counties:
            county = db.session.scalar(select(County).where(County.code == code))
            if county is None:
                raise InputError(f"县代码 {code} 尚未登记（先用 round create 或 demo 创建该县）", field="--county")
            found.append(county)
        user = create_user(username, password, role, found)
        click.echo(f"已创建账号 {user.username}（{role}）", err=True)


commands = [users]
