"""``tlh turn config``: coturn's side of ``[turn]`` (issue 14 item 2). The configuration is
run by coturn for real in tests/netns; here its content, its secret, and bad input."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from tlh.cli.main import app


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["turn", "config", *args])


def _settings(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_the_config_matches_tlh_toml(tmp_path: Path) -> None:
    toml = tmp_path / "tlh.toml"
    toml.write_text(
        '[messaging]\npublic_url = "https://tele.example.org"\n[turn]\nsecret = "shared-1"\n'
    )
    done = _run("--config", str(toml), "--allow-peer", "10.0.0.5")
    assert done.exit_code == 0, done.stderr
    conf = _settings(done.stdout)
    assert conf["static-auth-secret"] == ["shared-1"]  # tlh's secret, not a new one
    assert "use-auth-secret" in conf
    assert conf["realm"] == ["tele.example.org"]  # the public URL's host
    assert conf["listening-port"] == ["3478"]
    assert conf["tls-listening-port"] == ["443"]
    assert (conf["min-port"], conf["max-port"]) == (["49152"], ["65535"])
    assert "no-multicast-peers" in conf
    for private in ("10.0.0.0-10.255.255.255", "192.168.0.0-192.168.255.255", "::1"):
        assert private in conf["denied-peer-ip"]
    assert conf["allowed-peer-ip"] == ["10.0.0.5"]
    assert "turns:tele.example.org:443?transport=tcp" in done.stdout  # tlh.toml's urls
    assert done.stderr == ""


def test_a_secret_file_is_read_and_without_a_secret_a_new_one_is_made(tmp_path: Path) -> None:
    secret = tmp_path / "turn-secret"
    secret.write_text("from-a-file\n")
    toml = tmp_path / "tlh.toml"
    toml.write_text(f'[turn]\nsecret_file = "{secret}"\n')
    done = _run("--config", str(toml), "--realm", "turn.example.org", "--tls-port", "5349")
    conf = _settings(done.stdout)
    assert conf["static-auth-secret"] == ["from-a-file"]
    assert conf["tls-listening-port"] == ["5349"]
    fresh = _run("--config", str(tmp_path / "none.toml"), "--realm", "turn.example.org")
    assert fresh.exit_code == 0
    made = _settings(fresh.stdout)["static-auth-secret"][0]
    assert len(made) >= 40
    assert "put the same in tlh.toml's [turn] secret" in fresh.stderr
    again = _settings(_run("--config", str(tmp_path / "none.toml"), "--realm", "x").stdout)
    assert again["static-auth-secret"][0] != made


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    no_realm = _run("--config", str(tmp_path / "none.toml"))
    assert no_realm.exit_code != 0
    assert no_realm.stderr.strip() == (
        "error: give --realm (coturn's host name): tlh.toml has no public_url"
    )
    ports = _run("--realm", "x", "--min-port", "60000", "--max-port", "50000")
    assert ports.exit_code != 0
    assert ports.stderr.startswith("error: ports must be")
    toml = tmp_path / "tlh.toml"
    toml.write_text(f'[turn]\nsecret_file = "{tmp_path / "missing"}"\n')
    missing = _run("--config", str(toml), "--realm", "x")
    assert missing.exit_code != 0
    assert "secret_file" in missing.stderr
    assert "No such file" in missing.stderr
    assert "Traceback" not in missing.stderr + missing.stdout
