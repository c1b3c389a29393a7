"""Series by RRULE, kept at the same local wall time across DST changes.

dateutil expands the rule over *naive local* times (so 17:00 stays 17:00 when the
clocks change) and each occurrence is then resolved to UTC in the practice's zone.

The accepted rule language is a safe subset of RFC 5545: FREQ (DAILY, WEEKLY, MONTHLY,
YEARLY), INTERVAL, COUNT or UNTIL, BYDAY (ordinals such as ``2TU`` or ``-1FR`` with
MONTHLY only), BYMONTHDAY, BYMONTH, BYSETPOS (MONTHLY with plain BYDAY) and WKST. The
first start must itself be an occurrence. Why so strict: dateutil searches until year
9999 for a rule that never matches (seconds of CPU for ``BYMONTH=2;BYMONTHDAY=30``);
checking the first start up front proves the rule matches, and the subset keeps that
check exact.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr

from tlh.domain.timeutil import LocalTimeIssue, local_time_issue, zone_label
from tlh.errors import InvalidInput

#: Upper bounds so a rule like FREQ=DAILY with no end cannot run away.
MAX_OCCURRENCES = 200
MAX_YEARS = 2
#: INTERVAL above this is never a therapy series and only slows the search.
MAX_INTERVAL = 99

_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_PARTS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY_RE = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_KEYWORD_RE = re.compile(r"^[A-Z]{2,12}$")
_UNTIL_RE = re.compile(r"^(\d{8})(?:T(\d{6})(Z)?)?$")


def _bad(reason: str) -> InvalidInput:
    return InvalidInput(f"invalid recurrence rule: {reason}")


@dataclass(frozen=True)
class _Rule:
    body: str  # what dateutil sees: the rule without COUNT and UNTIL
    count: int | None
    until: str | None
    byday: tuple[tuple[int | None, int], ...]  # (ordinal or None, weekday 0=Monday)
    bymonthday: tuple[int, ...]
    bymonth: tuple[int, ...]
    bysetpos: tuple[int, ...]


def _ints(parts: dict[str, str], key: str, top: int, negative: bool) -> tuple[int, ...]:
    if key not in parts:
        return ()
    values: list[int] = []
    for item in parts[key].split(","):
        try:
            value = int(item)
        except ValueError:
            raise _bad(f"{key}={parts[key]} is not a list of numbers") from None
        if value == 0 or abs(value) > top or (value < 0 and not negative):
            raise _bad(f"{key} value {item} is out of range")
        values.append(value)
    return tuple(values)


def _parse_byday(value: str, freq: str) -> tuple[tuple[int | None, int], ...]:
    days: list[tuple[int | None, int]] = []
    for item in value.split(","):
        match = _BYDAY_RE.match(item)
        if not match:
            raise _bad(f"BYDAY value {item} is not a weekday such as MO or 2TU")
        ordinal = int(match.group(1)) if match.group(1) else None
        if ordinal is not None:
            if freq != "MONTHLY":
                raise _bad("BYDAY with an ordinal (such as 2TU) needs FREQ=MONTHLY")
            if ordinal == 0 or abs(ordinal) > 5:
                raise _bad(f"BYDAY ordinal in {item} must be 1 to 5 or -1 to -5")
        days.append((ordinal, _WEEKDAYS.index(match.group(2))))
    return tuple(days)


def _parse(rule: str) -> _Rule:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text:
        raise _bad("it is empty")
    if "DTSTART" in text.upper():
        raise _bad("DTSTART is not allowed; the series starts at the appointment's start")
    if "\n" in text or "\r" in text:
        raise _bad("only a single RRULE line is accepted")
    parts: dict[str, str] = {}
    for chunk in text.upper().split(";"):
        if not chunk:
            continue
        key, sep, value = chunk.partition("=")
        if not sep or not value:
            raise _bad("every part must be KEY=VALUE")
        if key not in _PARTS:
            # Echo only what looks like a rule keyword: this text may come from any column.
            shown = key if _KEYWORD_RE.match(key) else "a part"
            raise _bad(f"{shown} is not supported")
        if key in parts:
            raise _bad(f"{key} appears twice")
        parts[key] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise _bad("FREQ is required")
    if freq not in _FREQS:
        raise _bad(f"FREQ={freq} is not supported (use DAILY, WEEKLY, MONTHLY or YEARLY)")
    for single in ("INTERVAL", "COUNT"):
        if "," in parts.get(single, ""):
            raise _bad(f"{single} takes one number")
    _ints(parts, "INTERVAL", MAX_INTERVAL, negative=False)
    if "COUNT" in parts and "UNTIL" in parts:
        raise _bad("use COUNT or UNTIL, not both")
    count_values = _ints(parts, "COUNT", 10**9, negative=False)
    if count_values and count_values[0] > MAX_OCCURRENCES:
        raise _bad(f"COUNT={count_values[0]} is more than the {MAX_OCCURRENCES} a series may have")
    if parts.get("WKST", "MO") not in _WEEKDAYS:
        raise _bad(f"WKST={parts['WKST']} is not a weekday")
    byday = _parse_byday(parts["BYDAY"], freq) if "BYDAY" in parts else ()
    bymonthday = _ints(parts, "BYMONTHDAY", 31, negative=True)
    bysetpos = _ints(parts, "BYSETPOS", 4, negative=True)
    if bymonthday and freq == "WEEKLY":
        raise _bad("BYMONTHDAY cannot be used with FREQ=WEEKLY")
    if bymonthday and any(ordinal is not None for ordinal, _ in byday):
        raise _bad("BYDAY with an ordinal cannot be combined with BYMONTHDAY")
    if bysetpos and (
        freq != "MONTHLY"
        or not byday
        or bymonthday
        or any(ordinal is not None for ordinal, _ in byday)
    ):
        raise _bad("BYSETPOS needs FREQ=MONTHLY with plain BYDAY weekdays and no BYMONTHDAY")
    body = ";".join(f"{k}={v}" for k, v in parts.items() if k not in ("COUNT", "UNTIL"))
    return _Rule(
        body=body,
        count=count_values[0] if count_values else None,
        until=parts.get("UNTIL"),
        byday=byday,
        bymonthday=bymonthday,
        bymonth=_ints(parts, "BYMONTH", 12, negative=False),
        bysetpos=bysetpos,
    )


def _until_local(value: str, tz: tzinfo) -> datetime:
    """UNTIL as a naive local time; a bare date means through the end of that local day."""
    match = _UNTIL_RE.match(value)
    try:
        if not match:
            raise ValueError(value)
        digits = match.group(1)
        day = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        clock = match.group(2)
        if clock is None:
            return datetime.combine(day, time(23, 59, 59))
        moment = datetime.combine(day, time(int(clock[:2]), int(clock[2:4]), int(clock[4:])))
    except ValueError:
        raise _bad(f"UNTIL={value} is not a date such as 20261231 or 20261231T235959Z") from None
    if match.group(3):
        return moment.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
    return moment


def _matches(rule: _Rule, local: datetime) -> bool:
    """Whether ``local`` passes the rule's BY* filters (the exact subset we accept)."""
    days_in_month = calendar.monthrange(local.year, local.month)[1]
    if rule.bymonth and local.month not in rule.bymonth:
        return False
    if rule.bymonthday and not (
        local.day in rule.bymonthday or local.day - days_in_month - 1 in rule.bymonthday
    ):
        return False
    if rule.byday:
        nth = (local.day - 1) // 7 + 1
        nth_from_end = -((days_in_month - local.day) // 7 + 1)
        if not any(
            weekday == local.weekday() and ordinal in (None, nth, nth_from_end)
            for ordinal, weekday in rule.byday
        ):
            return False
    if rule.bysetpos:
        weekdays = {weekday for _, weekday in rule.byday}
        candidates = [
            day
            for day in range(1, days_in_month + 1)
            if calendar.weekday(local.year, local.month, day) in weekdays
        ]
        index = candidates.index(local.day)
        if index + 1 not in rule.bysetpos and index - len(candidates) not in rule.bysetpos:
            return False
    return True


def _occurrence_utc(local: datetime, tz: tzinfo) -> datetime:
    issue = local_time_issue(local, tz)
    if issue is not None:
        what = "does not exist" if issue is LocalTimeIssue.GAP else "is ambiguous"
        raise InvalidInput(
            f"the series occurrence on {local:%Y-%m-%d} at {local:%H:%M} {what} in "
            f"{zone_label(tz)} (DST change); choose another time for the series"
        )
    return local.replace(tzinfo=tz).astimezone(UTC)


def expand(rrule: str, first_start: datetime, tz: tzinfo) -> list[datetime]:
    """UTC start times of every occurrence of ``rrule`` from ``first_start`` (aware).

    Occurrences keep the local wall time of ``first_start`` in ``tz`` (a 17:00 weekly
    session stays at 17:00 local after the clocks change). An occurrence whose local
    time falls in a DST gap or is ambiguous raises ``InvalidInput`` naming the date.
    A rule without COUNT/UNTIL is cut at MAX_OCCURRENCES / MAX_YEARS; a malformed rule
    or one with more than MAX_OCCURRENCES raises ``InvalidInput``, and so does a COUNT or
    UNTIL that runs past MAX_YEARS. Accepts the rule with or without a leading
    ``RRULE:``; DTSTART inside the rule is rejected. The first start must match the rule.
    """
    if first_start.tzinfo is None or first_start.utcoffset() is None:
        raise InvalidInput("the first start of a series must carry a time zone")
    rule = _parse(rrule)
    local_first = first_start.astimezone(tz).replace(tzinfo=None, fold=0)
    until = _until_local(rule.until, tz) if rule.until else None
    if until is not None and until < local_first:
        raise _bad(f"UNTIL={rule.until} is before the first start")
    if not _matches(rule, local_first):
        raise _bad(f"the first start ({local_first:%a %Y-%m-%d}) is not one of its occurrences")
    try:
        occurrences = iter(rrulestr(rule.body, dtstart=local_first, cache=False))
        first = next(occurrences, None)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _bad(str(exc)) from None
    if first != local_first:  # the subset check above should make this impossible
        raise _bad(f"the first start ({local_first:%a %Y-%m-%d}) is not one of its occurrences")
    bounded = rule.count is not None or until is not None
    horizon = local_first + relativedelta(years=MAX_YEARS)
    result = [first_start.astimezone(UTC)]
    for local in occurrences:
        if rule.count is not None and len(result) >= rule.count:
            break
        if until is not None and local > until:
            break
        if local >= horizon:
            if not bounded:
                break
            raise _bad(f"the series runs more than {MAX_YEARS} years; end it sooner")
        if len(result) >= MAX_OCCURRENCES:
            if not bounded:
                break
            raise _bad(f"the series has more than {MAX_OCCURRENCES} occurrences; end it sooner")
        result.append(_occurrence_utc(local, tz))
    return result
