"""`users create | passwd | deactivate | reactivate | list`: staff accounts (passwords read from stdin)."""

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


def _user(username: str):
    from survey.services.users import find_user

    user = find_user(username)
    if user is None:
        raise InputError(f"账号“{username}”不存在", field="--username")
    return user


@users.command("passwd", help="设置新密码（重设忘记的密码），新密码从标准输入读取")
@click.option("--username", required=True, help="用户名")
def passwd(username: str) -> None:
    password = sys.stdin.readline().rstrip("\r\n")
    from survey.db import cli_transaction
    from survey.services.users import set_password

    with app_context(), cli_transaction():
        set_password(_user(username), password)
    click.echo(f"已为账号 {username} 设置新密码", err=True)


@users.command("deactivate", help="停用账号（不能再登录，已登录的会话失效）")
@click.option("--username", required=True, help="用户名")
def deactivate_cmd(username: str) -> None:
    from survey.db import cli_transaction
    from survey.services import ServiceError
    from survey.services.users import deactivate

    with app_context(), cli_transaction():
        try:
            deactivate(_user(username))
        except ServiceError as exc:
            raise InputError(str(exc), field="--username") from None
    click.echo(f"账号 {username} 已停用", err=True)


@users.command("reactivate", help="重新启用已停用的账号")
@click.option("--username", required=True, help="用户名")
def reactivate_cmd(username: str) -> None:
    from survey.db import cli_transaction
    from survey.services.users import reactivate

    with app_context(), cli_transaction():
        reactivate(_user(username))
    click.echo(f"账号 {username} 已重新启用", err=True)


ROLE_NAMES = {"admin": "管理员", "staff": "工作人员", "evaluator": "评估人员"}


@users.command("list", help="列出全部账号（制表符分隔：用户名、角色、县、状态）")
def list_cmd() -> None:
    from survey.services.users import list_users

    with app_context():
        rows = []
        for u in list_users():
            counties = [u.county] if u.county else list(u.assigned_counties)
            rows.append((u.username, ROLE_NAMES[u.role], "、".join(f"{c.name}（{c.code}）" for c in counties) or "全部",
                         "启用" if u.active else "已停用"))
    click.echo("用户名\t角色\t县\t状态")
    for r in rows:
        click.echo("\t".join(r))


commands = [users]
