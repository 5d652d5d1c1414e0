"""The notebook helper: a real run beside the simulated one, or one line without a server."""

from microlab.real.notebook import real_beside_simulated


def test_without_a_server_it_says_so_in_one_line(capsys, monkeypatch):
    monkeypatch.delenv("MICROLAB_CONDUCTOR_URL", raising=False)
    assert real_beside_simulated() is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("No real Conductor here")
    assert len(out.rstrip("\n")) <= 100, "a longer line wraps mid-word in JupyterLab (chapter 08)"


def test_an_unreachable_server_is_one_line_too(capsys):
    assert real_beside_simulated("http://127.0.0.1:9") is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no Conductor server answers" in out


def test_with_a_server_it_draws_both_runs(conductor):
    fig = real_beside_simulated(conductor.url)
    assert fig is not None and len(fig.data) >= 2
    assert "real Conductor" in fig.layout.annotations[0].text
