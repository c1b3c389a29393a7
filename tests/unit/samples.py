"""The one confirmed telehealth appointment the domain rules' tests start from."""

from __future__ import annotations

from datetime import UTC, datetime

from tlh.domain.models import Appointment, Modality, Status

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York
CREATED = datetime(2026, 11, 1, tzinfo=UTC)
#: Confirmed, telehealth, 50 minutes: clinician ``stf_1``, client ``cli_1``.
APPT = Appointment(
    id="apt_1",
    modality=Modality.TELEHEALTH,
    status=Status.CONFIRMED,
    clinician_ids=("stf_1",),
    client_ids=("cli_1",),
    start=START,
    duration_min=50,
    created_at=CREATED,
    updated_at=CREATED,
)
