"""The run-once jobs of servers sharing one PostgreSQL (the outbox, the reminder clock:
advisory locks, ``tlh.store.pg.singleton``): who holds them, waiting for them to be held,
and a data dir whose email goes to the test's SMTP server."""

from __future__ import annotations

from pathlib import Path

from tests.store.pg.support import eventually, query

#: The sessions holding each job's advisory lock, by the job's connection name.
JOB_HOLDERS = """
SELECT a.pid, a.usename FROM pg_locks l JOIN pg_stat_activity a USING (pid)
WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
  AND a.application_name = %s
"""
JOBS = ("tlh tlh:outbox", "tlh tlh:reminders")


def with_smtp(data_dir: Path, port: int) -> None:
    """The server's email goes to the test's SMTP server."""
    toml = data_dir / "tlh.toml"
    lines = toml.read_text().splitlines()
    assert lines.count('email = "file"') == 1  # what init writes: a folder of messages
    assert "[smtp]" not in lines
    lines[lines.index('email = "file"')] = 'email = "smtp"'
    lines += ["[smtp]", 'host = "127.0.0.1"', f"port = {port}", 'security = "none"',
              'from_address = "Practice <practice@example.org>"']  # fmt: skip
    toml.write_text("\n".join(lines) + "\n")


async def job_holders(url: str) -> dict[str, list[tuple[int, str]]]:
    """The backend pid and role holding each job's lock."""
    return {job: [(row[0], row[1]) for row in await query(url, JOB_HOLDERS, job)] for job in JOBS}


async def holds_the_jobs(url: str) -> None:
    """Wait (bounded) until one session holds each job's lock."""

    async def held() -> bool:
        return all(len(pids) == 1 for pids in (await job_holders(url)).values())

    await eventually(held, within=20)
