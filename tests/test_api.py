"""The README's notebook example runs as written (on a tiny grid) and gives a DataFrame, a fit and an allocation."""
import contextlib
import io
import re

import pandas as pd
import pytest
from conftest import REPO, write_config

import storagebench as sb
from storagebench.errors import StorageBenchError


def notebook_example() -> str:
    (block,) = re.findall(r"```python\n(# notebook example\n.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    return block


def test_the_readme_notebook_example_gives_a_frame_a_fit_and_an_allocation(tmp_path, monkeypatch, fashion_dir):
    monkeypatch.setenv("STORAGEBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("STORAGEBENCH_DATA", str(fashion_dir))
    config = write_config(tmp_path / "tiny.toml")
    source = notebook_example().replace('"benchmarks/quick.toml", "results/quick"', f'"{config}", "{tmp_path / "out"}"')
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(source, "README notebook example", "exec"), namespace)
    results, law = namespace["results"], namespace["law"]
    assert isinstance(results, pd.DataFrame) and len(results) == 6 * 2  # 6 cells × 2 test levels
    assert list(results["train_level"].cat.categories) == ["lossless", "4"]  # the original format first
    assert results["test_level_value"].tolist().count(0.0) == 6 and {"accuracy", "L", "error"} <= set(results)
    assert 0 < law.alpha and 0 < law.beta and "nu = " in printed.getvalue()
    allocation = sb.allocate(tmp_path / "out", ["100k", "1M"])
    assert allocation["budget"].tolist() == [1e5, 1e6] and allocation["extrapolated"].dtype == bool
    assert allocation["extrapolated"].iloc[-1]  # 1 MB: far more than this grid stored


def test_loading_is_read_only_and_errors_are_one_message(tmp_path):
    with pytest.raises(StorageBenchError, match="not a results dir"):
        sb.load_results(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()  # nothing created
    with pytest.raises(StorageBenchError, match="fits.json: missing"):
        sb.load_fit(tmp_path)
    assert "load_results" in dir(sb)
