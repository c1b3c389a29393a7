"""What ``tlh demo`` prints for a newcomer, and the file that keeps it.

The dashboard opens on the terminal's alternate screen, which hides everything printed
before it; so the same text is written to ``demo.txt`` in the demo's data dir (removed
with it), and the dashboard's greeting names that file instead of carrying a long join
link that would wrap inside the toast and break when copied. Every command is printed
the way this ``tlh`` was started (``.venv/bin/tlh`` from a fresh clone), with real
dates, so each runs as printed.
"""

from __future__ import annotations

import shlex
from datetime import date
from pathlib import Path
from typing import Any, Protocol

FILE_NAME = "demo.txt"


class DemoInfo(Protocol):
    """What the demo server tells once it serves (``tlh.server.demo.DemoInfo``: the CLI
    reaches the server's modules only from ``commands.local``)."""

    @property
    def url(self) -> str: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def admin_token(self) -> str: ...
    @property
    def week(self) -> tuple[date, date]: ...
    @property
    def appointment_id(self) -> str | None: ...
    @property
    def clinician(self) -> str: ...
    @property
    def clinician_token(self) -> str: ...
    @property
    def join_url(self) -> str: ...
    @property
    def consent_url(self) -> str: ...


def demo_file(info: DemoInfo) -> Path:
    """Where the printout is kept while the demo runs."""
    return info.data_dir / FILE_NAME


def commands(info: DemoInfo, tlh: str) -> tuple[list[str], list[str]]:
    """(the admin's commands, the clinician's), each runnable as printed after the first
    (``export ...``) has run in the same shell."""
    monday, sunday = info.week
    admin = [
        f"export TLH_URL={shlex.quote(info.url)} TLH_TOKEN={shlex.quote(info.admin_token)}",
        f"{tlh} appt list                     # today's diary",
        f"{tlh} appt list --from {monday} --to {sunday}   # this week",
        f"{tlh} client list",
        f"{tlh} staff list",
        f"{tlh} report attendance --from {monday} --to {sunday}",
        f"{tlh} audit verify",
    ]
    if info.appointment_id:
        admin.insert(3, f"{tlh} appt explain {info.appointment_id}   # can this session start?")
    clinician = []
    if info.clinician_token and info.appointment_id:
        as_lead = f"TLH_TOKEN={shlex.quote(info.clinician_token)} {tlh}"
        clinician = [
            f"{as_lead} room watch                # see the client arrive (Ctrl-C stops)",
            f"{as_lead} room admit --all          # let them in",
            f"{as_lead} session start {info.appointment_id}   # the call page",
        ]
    return admin, clinician


def printout(info: DemoInfo, tlh: str) -> list[str]:
    """The lines ``tlh demo`` prints (and keeps in ``demo.txt``)."""
    admin, clinician = commands(info, tlh)
    lines = [
        f"tlh demo running at {info.url}: a throw-away practice, removed when you press Ctrl-C",
        "",
        "In a second terminal, as the practice's admin:",
        *(f"  {c}" for c in admin),
    ]
    if clinician:
        lines += ["", f"As the clinician ({info.clinician}), in the same terminal:"]
        lines += [f"  {c}" for c in clinician]
    if info.join_url:
        lines += [
            "",
            "The client's join link: open it in a browser (consent, camera check, waiting room):",
            f"  {info.join_url}",
        ]
    if info.consent_url:
        lines += ["", "Another client's consent form:", f"  {info.consent_url}"]
    lines += ["", f"This text is also in {demo_file(info)}"]
    return lines


def greeting(info: DemoInfo) -> str:
    """The dashboard's first toast: where the printout is, and what to press."""
    return (
        f"The client's link and commands to try are in {demo_file(info)} (run `cat` on it"
        " in a second terminal). Open the link in a browser; press a here to admit."
    )


def as_json(info: DemoInfo, tlh: str) -> dict[str, Any]:
    """The printout's facts for ``tlh demo --json`` (one object)."""
    admin, clinician = commands(info, tlh)
    return {
        "url": info.url,
        "admin_token": info.admin_token,
        "clinician": info.clinician,
        "clinician_token": info.clinician_token,
        "appointment_id": info.appointment_id,
        "join_url": info.join_url,
        "consent_url": info.consent_url,
        "data_dir": str(info.data_dir),
        "file": str(demo_file(info)),
        "commands": admin + clinician,
    }
