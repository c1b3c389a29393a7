"""The server's config file: the documented example loads, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlh.errors import InvalidInput
from tlh.server.settings import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "tlh.example.toml"


def test_example_config_loads_with_the_defaults(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, EXAMPLE)
    assert loaded == Settings(data_dir=tmp_path)


def test_data_dir_file_is_read_and_flags_win(tmp_path: Path) -> None:
    (tmp_path / "tlh.toml").write_text('[server]\nport = 9000\nhost = "::1"\n')
    loaded = load_settings(tmp_path, None, port=9100, host=None)
    assert loaded.port == 9100
    assert loaded.host == "::1"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[server]\nprot = 1\n", "unknown key 'prot'"),
        ("[sever]\nport = 1\n", "unknown section [sever]"),
        ('[server]\nport = "80"\n', "port has the wrong type"),
        ("[server]\nport = true\n", "port has the wrong type"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=None) as err:
        load_settings(tmp_path, path)
    assert fragment in err.value.message


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        load_settings(tmp_path, tmp_path / "nope.toml")
    assert "nope.toml" in err.value.message
