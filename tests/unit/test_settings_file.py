"""The server's config file: the documented example loads, mistakes are named."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from tlh.errors import InvalidInput
from tlh.messaging.config import (
    MessagingConfig,
    MessagingFile,
    SmtpConfig,
    TwilioConfig,
    WebhookConfig,
)
from tlh.server.settings import (
    HooksTable,
    LimitsTable,
    MetricsTable,
    RoomsTable,
    ServerFile,
    ServerTable,
    Settings,
    StoreTable,
    TurnTable,
    load_settings,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "tlh.example.toml"


def test_example_config_loads_with_the_defaults(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, EXAMPLE)
    assert loaded == Settings(data_dir=tmp_path, config_file=EXAMPLE)


#: Every table of tlh.toml and the struct that reads it.
TABLES: dict[str, type[msgspec.Struct]] = {
    "server": ServerTable,
    "limits": LimitsTable,
    "rooms": RoomsTable,
    "hooks": HooksTable,
    "turn": TurnTable,
    "metrics": MetricsTable,
    "store": StoreTable,
    "messaging": MessagingConfig,
    "smtp": SmtpConfig,
    "twilio": TwilioConfig,
    "webhook": WebhookConfig,
}


def _blocks(text: str) -> dict[str, str]:
    """The example's text by table, commented-out tables (``# [hooks]``) included."""
    blocks: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        header = line.removeprefix("# ")
        if re.fullmatch(r"\[\w+\]", header):
            name = header[1:-1]
        blocks[name] = blocks.get(name, "") + line + "\n"
    return blocks


def test_the_example_documents_every_key_of_every_table() -> None:
    blocks = _blocks(EXAMPLE.read_text())
    files = (ServerFile, MessagingFile)
    tables = {f.encode_name for file in files for f in msgspec.structs.fields(file)}
    assert set(TABLES) == tables
    assert set(blocks) - {""} == set(TABLES)
    for name, struct in TABLES.items():
        keys = set(struct.__struct_fields__)
        if name == "messaging":  # its transports are tables of their own
            keys -= set(MessagingFile.__struct_fields__)
        for key in keys:
            assert re.search(rf"^(# )*{key} = ", blocks[name], re.M), f"[{name}] {key}"


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
        ('[server]\nport = "80"\n', "[server] port must be a whole number"),
        ("[server]\nport = true\n", "[server] port must be a whole number"),
        ("[limits]\nkeepalive_timeout_s = '75'\n", "[limits] keepalive_timeout_s must be a number"),
        ("[server]\nallowed_origins = 'x'\n", "[server] allowed_origins must be a list of strings"),
        ("[rooms]\nice_servers = [1]\n", "[rooms] ice_servers[0] must be a table"),
        ("[rooms]\nice_servers = [{ username = 'u' }]\n", "[rooms] ice_servers entries need urls"),
        ("[hooks]\ncommand = ['ok', 2]\n", "[hooks] command[1] must be a string"),
        ("[turn]\nurls = ['stun:x:3478']\n", "[turn] urls: 'stun:x:3478' is not a turn:"),
        ("[turn]\nsecret = ''\n", "[turn] secret is empty"),
        ("[store]\nurl = 'mysql://db/tlh'\n", "[store] url must be a postgresql:// URL"),
        ("[store]\nhot_months = -1\n", "[store] hot_months must be 0 to 1200"),
        ("[rooms]\nhello_concurrency = 0\n", "[rooms] hello_concurrency must be 1 to 100000"),
        ("[turn]\nsecret = 'a'\nsecret_file = 'b'\n", "[turn] takes secret or secret_file"),
        ("[turn]\nsecret_file = '/nonexistent/turn'\n", "[turn] secret_file /nonexistent/turn"),
        ("[turn]\nttl_s = 5\n", "[turn] ttl_s must be 60 to 43200 seconds"),
        (
            "[server]\ntrusted_proxies = ['10.0.0.0/8', 'proxy']\n",
            "[server] trusted_proxies: 'proxy' is not an IP address or network",
        ),
        ("[server]\nlog_format = 'xml'\n", "[server] log_format"),
        ("limits = 3\n", "[limits] must be a section"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=None) as err:
        load_settings(tmp_path, path)
    assert fragment in err.value.message


def test_store_hot_months_is_read(tmp_path: Path) -> None:
    (tmp_path / "tlh.toml").write_text("[store]\nhot_months = 12\n")
    assert load_settings(tmp_path, None).store_hot_months == 12


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        load_settings(tmp_path, tmp_path / "nope.toml")
    assert "nope.toml" in err.value.message


def test_the_turn_secret_is_read_from_its_file_and_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "turn-secret"
    secret.write_text("shared-with-coturn\n")
    path = tmp_path / "tlh.toml"
    path.write_text(f"[turn]\nurls = ['turns:t.example.org:443']\nsecret_file = '{secret}'\n")
    found = load_settings(tmp_path, path)
    assert found.turn_secret == "shared-with-coturn"
    assert found.turn_urls == ("turns:t.example.org:443",)
    assert "shared-with-coturn" not in repr(found)
