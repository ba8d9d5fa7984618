"""Accounts (issue 11, item 1): admin pages, own password, Chinese usernames, CLI
`users passwd | deactivate | list` in a real subprocess."""

from __future__ import annotations

from sqlalchemy import select

from survey.db import db
from survey.models import County, User
from tests.survey.conftest import csrf_from
from tests.survey.helpers import PASSWORD, login, make_user
from tests.survey.test_cli import run


def _token(client, url: str) -> str:
    return csrf_from(client.get(url).get_data(as_text=True))


def test_admin_creates_a_chinese_named_staff_account_and_resets_its_password(app, client):
    with app.app_context():
        make_user("admin1", "admin")
        make_user("seed_staff", "staff", ("330101",), names={"330101": "示范县"})
        county_id = db.session.scalar(select(County.id).where(County.code == "330101"))
    login(client, "admin1")
    resp = client.post("/admin/users/new", data={"csrf_token": _token(client, "/admin/users/new"),
                                                 "username": "张老师", "password": "初始密码-柳树-2026",
                                                 "role": "staff", "counties": [county_id]})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "张老师" in listing and "示范县（330101）" in listing

    # staff without a county: refused in Chinese, nothing stored
    bad = client.post("/admin/users/new", data={"csrf_token": _token(client, "/admin/users/new"),
                                                "username": "李四", "password": "long-enough-1", "role": "staff"})
    assert bad.status_code == 422 and "必须指定一个县" in bad.get_data(as_text=True)
    short = client.post("/admin/users/new", data={"csrf_token": _token(client, "/admin/users/new"),
                                                  "username": "王五", "password": "123", "role": "admin"})
    assert short.status_code == 422 and "密码至少 8 位" in short.get_data(as_text=True)
    with app.app_context():
        assert {u.username for u in db.session.scalars(select(User))} == {"admin1", "seed_staff", "张老师"}
        uid = db.session.scalar(select(User.id).where(User.username == "张老师"))

    page = f"/admin/users/{uid}"
    mismatch = client.post(f"{page}/password", data={"csrf_token": _token(client, page),
                                                     "reset-new_password": "新密码-河边-sunny-7", "reset-confirm": "x"})
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    done = client.post(f"{page}/password", data={"csrf_token": _token(client, page),
                                                 "reset-new_password": "新密码-河边-sunny-7",
                                                 "reset-confirm": "新密码-河边-sunny-7"})
    assert done.status_code == 302
    client.post("/logout", data={"csrf_token": _token(client, "/admin/")})
    assert login(client, "张老师", "初始密码-柳树-2026").status_code == 200  # old password: form again
    assert login(client, "张老师", "新密码-河边-sunny-7").status_code == 302


def test_role_and_counties_change_and_last_admin_is_protected(app, client):
    with app.app_context():
        make_user("admin1", "admin")
        ev = make_user("ev1", "evaluator", ("330101", "330102"))
        ids = [c.id for c in ev.assigned_counties]
        ev_id = ev.id
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin1"))
    login(client, "admin1")
    page = f"/admin/users/{ev_id}"
    resp = client.post(page, data={"csrf_token": _token(client, page), "edit-role": "staff",
                                   "edit-counties": [ids[1]]})
    assert resp.status_code == 302
    with app.app_context():
        user = db.session.get(User, ev_id)
        assert user.role == "staff" and user.county.code == "330102" and user.assigned_counties == []
    # the only admin can neither be deactivated nor demoted
    resp = client.post(f"/admin/users/{admin_id}/active", data={"csrf_token": _token(client, "/admin/users")},
                       follow_redirects=True)
    assert "唯一可用的管理员账号，不能停用" in resp.get_data(as_text=True)
    page = f"/admin/users/{admin_id}"
    resp = client.post(page, data={"csrf_token": _token(client, page), "edit-role": "evaluator",
                                   "edit-counties": [ids[0]]})
    assert resp.status_code == 422 and "不能改为其他角色" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin_id).active and db.session.get(User, admin_id).role == "admin"


def test_deactivation_ends_the_session_and_blocks_login(app, client):
    with app.app_context():
        make_user("admin1", "admin")
        staff = make_user("staff1", "staff", ("330101",))
        staff_id = staff.id
    other = app.test_client()
    login(other, "staff1")
    assert other.get("/admin/").status_code == 200
    login(client, "admin1")
    resp = client.post(f"/admin/users/{staff_id}/active", data={"csrf_token": _token(client, "/admin/users")})
    assert resp.status_code == 302
    assert other.get("/admin/").status_code == 302  # session over: back to the login page
    assert login(other, "staff1").status_code == 200
    resp = client.post(f"/admin/users/{staff_id}/active", data={"csrf_token": _token(client, "/admin/users"),
                                                                 "active": "1"})
    assert login(other, "staff1").status_code == 302


def test_every_user_changes_their_own_password_and_only_admins_manage_accounts(app, client):
    with app.app_context():
        make_user("ev1", "evaluator", ("330101",))
    resp = login(client, "ev1")
    assert resp.headers["Location"].endswith("/evaluations/") or "/evaluations" in resp.headers["Location"]
    assert client.get("/admin/users").status_code == 403
    page = "/admin/account/password"
    wrong = client.post(page, data={"csrf_token": _token(client, page), "current": "nope",
                                    "new_password": "another-pass-1", "confirm": "another-pass-1"})
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    ok = client.post(page, data={"csrf_token": _token(client, page), "current": PASSWORD,
                                 "new_password": "another-pass-1", "confirm": "another-pass-1"})
    assert ok.status_code == 302
    client.post("/logout", data={"csrf_token": _token(client, page)})
    assert login(client, "ev1", "another-pass-1").status_code == 302


def test_users_passwd_deactivate_list_from_the_command_line(app, database_url):
    with app.app_context():
        make_user("admin1", "admin")
        make_user("王老师", "staff", ("330101",), names={"330101": "示范县"})
    res = run(database_url, "users", "passwd", "--username", "王老师", stdin="forgotten-no-more\n")
    assert res.returncode == 0, res.stderr
    assert "已为账号 王老师 设置新密码" in res.stderr
    short = run(database_url, "users", "passwd", "--username", "王老师", stdin="short\n")
    assert short.returncode == 2 and "密码至少 8 位" in short.stderr
    missing = run(database_url, "users", "passwd", "--username", "nobody", stdin="long-enough-1\n")
    assert missing.returncode == 2 and "账号“nobody”不存在" in missing.stderr and "--username" in missing.stderr
    again = run(database_url, "users", "create", "--username", "王老师", "--role", "admin", stdin="long-enough-1\n")
    assert again.returncode == 2 and "已存在" in again.stderr and "users passwd" in again.stderr

    client = app.test_client()
    assert login(client, "王老师", "forgotten-no-more").status_code == 302
    assert run(database_url, "users", "deactivate", "--username", "王老师").returncode == 0
    assert client.get("/admin/").status_code == 302  # its session ended
    assert login(app.test_client(), "王老师", "forgotten-no-more").status_code == 200
    last = run(database_url, "users", "deactivate", "--username", "admin1")
    assert last.returncode == 2 and "唯一可用的管理员" in last.stderr

    listing = run(database_url, "users", "list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0] == "用户名\t角色\t县\t状态"
    assert "admin1\t管理员\t全部\t启用" in lines
    assert "王老师\t工作人员\t示范县（330101）\t已停用" in lines
    with app.app_context():
        db.session.expire_all()
        assert not db.session.scalar(select(User).where(User.username == "王老师")).active
