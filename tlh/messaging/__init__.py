"""Getting words to people: templates, calendar attachments and transports (SMTP, SMS, file).

No store here: the outbox (``tlh.services.outbox``) decides what to send and records
what happened; this package only renders and delivers.
"""
