"""`python -m infra.sam_translate`, the step of `make validate` that turns the SAM template into what SAM
deploys, says one line and nothing else: no warning of the translator's about its feature toggles."""

from __future__ import annotations

import json
import logging
import sys

from infra import sam_translate
from tests.shared.paths import ROOT


def test_translating_the_template_prints_one_line_and_no_warnings(tmp_path, monkeypatch, capsys, caplog):
    output = tmp_path / "translated.json"
    monkeypatch.setattr(sys, "argv", ["sam_translate", str(ROOT / "template.yaml"), "--output", str(output)])

    with caplog.at_level(logging.INFO):
        sam_translate.main()

    assert capsys.readouterr() == (f"translated {ROOT / 'template.yaml'} -> {output}\n", "")
    assert [f"{record.levelname} {record.name}: {record.getMessage()}" for record in caplog.records
            if record.levelno >= logging.WARNING] == []  # fmt: skip
    resources = json.loads(output.read_text())["Resources"].values()
    assert "AWS::Lambda::EventSourceMapping" in {resource["Type"] for resource in resources}
