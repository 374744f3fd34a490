import pytest

from genforge.cli.main import main


@pytest.fixture()
def gf(capsys):
    """``gf(*args)`` runs ``genforge ARGS`` in this process (the console script's function, so torch is
    imported once) and returns ``(exit code, stdout, stderr)``; a traceback fails the test."""

    def run(*args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        assert "Traceback" not in out.err
        return code, out.out, out.err

    return run
