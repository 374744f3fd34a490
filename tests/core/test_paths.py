import pytest

from genforge.core.errors import ConfigError
from genforge.core.paths import check_output_dir, check_output_file


def test_a_file_in_an_existing_folder_passes_and_nothing_is_left_behind(tmp_path):
    assert check_output_file(tmp_path / "grid.png", suffixes=(".png",)) == tmp_path / "grid.png"
    assert check_output_dir(tmp_path / "runs" / "deeper") == tmp_path / "runs" / "deeper"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing/r.html", "does not exist"),
        ("afile/r.html", "is a file, not a folder"),
        ("adir", "is a folder"),
        ("grid.gif", "use one of the extensions .png"),
    ],
)
def test_bad_output_files_are_one_line_errors(tmp_path, name, message):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    with pytest.raises(ConfigError, match=message):
        check_output_file(
            tmp_path / name, suffixes=(".png", ".html", "") if name != "grid.gif" else (".png",)
        )
    assert not (tmp_path / "missing").exists()


def test_bad_output_folders_are_one_line_errors(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "afile" / "runs")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "afile")
    with pytest.raises(ConfigError, match="not writable"):
        check_output_dir("/proc/nope")
