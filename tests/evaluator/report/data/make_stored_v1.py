"""How stored_v1.json was made: run from the root of a checkout of main 142cb97 (the code
before ``schema_version``), ``python tests/evaluator/report/data/make_stored_v1.py OUT.json``.

It is a stored evaluation as survey.services.evaluations.evaluate_inputs returned it then:
demo county (seed 3, 12 schools), synthetic answers (recognition synth seed 11) mapped onto
its schools, one rectification, a fixed generation time (the workbook's sha256 differs per run:
an .xlsx records when it was written).
"""

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, ".")
from evaluator.rules import load_ruleset  # noqa: E402
from evaluator.workbook import demo_frames, read_workbook, write_workbook  # noqa: E402
from survey.services.evaluations import evaluate_inputs  # noqa: E402
from tests.evaluator.recognition.synth import make_county  # noqa: E402

with tempfile.TemporaryDirectory() as name:
    tmp = Path(name)
    path = write_workbook(tmp / "示例县2024年数据.xlsx", demo_frames(3, schools=12))
    rules = load_ruleset("national-2017")
    workbook = read_workbook(path, rules)
    codes = [str(c) for c in workbook.schools["school_code"]]
    answers, schools = make_county(11, len(codes))
    mapping = dict(zip(sorted(schools["school_code"].astype(str).unique()), codes, strict=False))
    answers["school_code"] = answers["school_code"].astype(str).map(lambda c: mapping.get(c, ""))
    answers.to_csv(tmp / "responses.csv", index=False)
    report = evaluate_inputs(workbook, rules, workbook_name=path.name, responses_path=tmp / "responses.csv",
                             responses_name="答卷2024.csv")
report["provenance"]["generated_at"] = "2024-11-20T02:15:00+00:00"
report["items"][10]["rectification"] = {"measures": "新建音乐教室2间", "deadline": "2025年9月", "department": "县教育局"}
Path(sys.argv[1]).write_text(json.dumps(report, ensure_ascii=False, indent=1))
