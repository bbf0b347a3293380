import pytest

from ml.training.cli import refusals_as_errors


@pytest.mark.parametrize(
    "refusal", [FileNotFoundError("no data at x"), FileExistsError("x holds a run"), ValueError("no")]
)
def test_a_refusal_is_one_line_on_stderr_and_exit_status_2(refusal, capsys):
    with pytest.raises(SystemExit) as exit_info, refusals_as_errors("python -m ml.thing"):
        raise refusal

    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"python -m ml.thing: error: {refusal}\n"


def test_an_unexpected_error_keeps_its_traceback(capsys):
    with pytest.raises(RuntimeError, match="bug"), refusals_as_errors("python -m ml.thing"):
        raise RuntimeError("bug")

    assert capsys.readouterr().err == ""
