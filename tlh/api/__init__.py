"""tlh.api: the wire schema, one definition the server, the services and the client share.

One module per concept holds a msgspec struct for every JSON request body, every JSON
answer that is not a domain record itself (domain records in ``tlh.domain`` are their
own wire shape) and every websocket frame. The server decodes request bodies and frames
into these structs at its edge; the client encodes its requests and decodes the answers
with the same ones; ``tests/test_api_doc.py`` holds docs/API.md to them.

Imports only ``tlh.domain`` and ``tlh.errors`` (an import-linter contract), so the CLI
can load it cheaply.
"""
