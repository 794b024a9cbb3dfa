"""examples/markov_coordination.py --quick writes its figures (the full run makes docs/markov_*.png)."""

import runpy
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "markov_coordination.py"


def test_quick_run_writes_figures(tmp_path, capsys):
    runpy.run_path(str(SCRIPT), run_name="markov_coordination")["main"](["--quick", "--out", str(tmp_path)])
    for name in ("markov_fig1_tabular.png", "markov_fig4_lambda.png", "markov_npg_br_K.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "best K" in out and "NPG-BR" in out
