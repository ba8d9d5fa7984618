"""Builds the CSV folder beside this script: a county shaped after seed 002 (淄博高新区 2023
self-check table, ../shared/seeds/002_*.txt, 附件 全国义务教育优质均衡发展区创建工作分工).

Run: .venv/bin/python tests/evaluator/data/seed002/make.py   (the CSVs are committed).
Figures are chosen by hand to mirror the table rows; see test_seed002.py for the mapping.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))

from evaluator.workbook import write_workbook  # noqa: E402
from tests.evaluator.builders import county, junior, primary  # noqa: E402


def sizes(students: int, n: int, over: int, cap: int) -> list[int]:
    """``n`` class sizes summing to ``students`` with exactly ``over`` classes above ``cap``."""
    big = [cap + 1] * over
    rest = students - sum(big)
    k = n - over
    excess = rest - k * cap
    i = 0
    while excess > 0:  # push what does not fit under the cap into the over-cap classes
        big[i % over] += 1
        excess -= 1
        rest -= 1
        i += 1
    small = [rest // k + (1 if j < rest % k else 0) for j in range(k)] if k else []
    assert all(s <= cap for s in small) and all(s > cap for s in big) and sum(big) + sum(small) == students
    return big + small


# name, students, classes, over-cap classes, music rooms, art rooms, overrides
PRIMARY = [
    ("P01", "第一小学", 1800, 40, 20, 2, 3, {"teaching_area": 1800 * 4.2, "sports_area": 1800 * 7.0}),
    ("P02", "第二小学", 2484, 54, 30, 3, 3, {"teaching_area": 2484 * 3.6}),
    ("P03", "华侨城小学", 2789, 60, 40, 3, 3, {"teaching_area": 2789 * 4.0, "sports_area": 2789 * 7.0}),
    ("P04", "第三小学", 1500, 34, 10, 3, 2, {}),
    ("P05", "第四小学", 1400, 32, 0, 3, 1, {}),
    ("P06", "第五小学", 1600, 36, 10, 3, 3, {}),
    ("P07", "第六小学", 1500, 34, 10, 3, 3, {}),
    ("P08", "第七小学", 1400, 32, 0, 3, 3, {}),
    ("P09", "第八小学", 1300, 30, 0, 3, 3, {}),
    ("P10", "第九小学", 1200, 28, 0, 3, 3, {}),
    ("P11", "中埠镇中心小学", 600, 15, 0, 2, 2, {"locality": "乡村"}),
    ("P12", "第十小学", 600, 14, 0, 2, 2, {}),
]
JUNIOR = [
    ("J01", "实验中学", 2756, 56, 10, 3, 5, {"sports_area": 2756 * 8.0}),
    ("J02", "第一中学", 2997, 60, 16, 5, 5, {"teaching_area": 2997 * 5.5}),
    ("J03", "第三中学", 1800, 38, 0, 4, 4, {}),
    ("J04", "中埠中学", 900, 20, 0, 2, 2, {"locality": "乡村"}),
    ("J05", "第四中学", 1700, 36, 0, 3, 3, {}),
]


def build() -> dict[str, object]:
    schools, classes, rooms = [], [], []

    def add_rooms(code: str, music: int, art: int) -> None:
        rooms.extend({"school_code": code, "room_type": "音乐", "area": 98 + k} for k in range(music))
        rooms.extend({"school_code": code, "room_type": "美术", "area": 92 + k} for k in range(art))

    for code, name, st, ncls, over, music, art, kw in PRIMARY:
        schools.append(primary(code, name, st, classes_primary=ncls, **kw))
        classes.extend({"school_code": code, "stage": "小学", "grade": 1 + k % 6, "students": s}
                       for k, s in enumerate(sizes(st, ncls, over, 45)))
        add_rooms(code, music, art)
    for code, name, st, ncls, over, music, art, kw in JUNIOR:
        schools.append(junior(code, name, st, classes_junior=ncls, **kw))
        classes.extend({"school_code": code, "stage": "初中", "grade": 7 + k % 3, "students": s}
                       for k, s in enumerate(sizes(st, ncls, over, 50)))
        add_rooms(code, music, art)
    # 宝鑫新经典学校: 九年一贯制, 1100 + 700 students; whole-school quantities chosen so that
    # both parts pass after apportioning 1 : 1.1 (shares 1100/1870 and 770/1870).
    schools.insert(3, {**primary("B01", "宝鑫新经典学校", 1100), "school_type": "九年一贯制",
                       "students_junior": 700, "classes_primary": 25, "classes_junior": 15,
                       "teachers_primary": 66, "teachers_junior": 56, "qualified_teachers_junior": 42,
                       "backbone_teachers_junior": 9, "pe_art_teachers_junior": 8, "teaching_area": 11000,
                       "sports_area": 19000, "equipment_value": 5_000_000, "multimedia_rooms": 48,
                       "public_funds": 720 * 1100 + 940 * 700, "public_funds_budget": 720 * 1100 + 940 * 700,
                       "training_funds": 0.06 * (720 * 1100 + 940 * 700)})
    classes.extend({"school_code": "B01", "stage": "小学", "grade": 1 + k % 6, "students": s}
                   for k, s in enumerate(sizes(1100, 25, 0, 45)))
    classes.extend({"school_code": "B01", "stage": "初中", "grade": 7 + k % 3, "students": s}
                   for k, s in enumerate(sizes(700, 15, 0, 50)))
    add_rooms("B01", 2, 2)  # 40 classes need 4 of each
    rooms.append({"school_code": "P03", "room_type": "音乐", "area": 80})  # too small: does not count
    c = county(county_name="淄博高新区", layout_plan_ok=False,  # 2.1 否: 布局专项规划未编制完成
               retention_final=1950, retention_entry=2020,      # 3.1 四年巩固率 96.5% (五四制)
               monitoring_status="未抽测")
    for k in [k for k in c if k.startswith("monitoring_") and k != "monitoring_status"]:
        del c[k]
    return {"schools": pd.DataFrame(schools), "classes": pd.DataFrame(classes), "rooms": pd.DataFrame(rooms),
            "county": c}


if __name__ == "__main__":
    write_workbook(Path(__file__).parent, build())
