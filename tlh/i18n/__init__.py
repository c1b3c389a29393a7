"""The client pages' words in other languages: gettext catalogues (Babel), one per
shipped language, kept in ``locale/<lang>/LC_MESSAGES/messages.po``.

The English source strings are the page scripts' ``t("...")`` calls and the pages'
``data-i18n`` elements (``tlh.i18n.extract``). The server reads a ``.po`` with Babel's
reader when a page first asks for its language (``tlh.i18n.catalogue``) and serves it as
JSON: no compiled ``.mo`` to build or to forget, so a fresh clone and the wheel work as
they are. ``python -m tlh.i18n.update`` brings the ``.po`` files up to date with the
source strings; ``tests/unit/test_i18n_catalogue.py`` fails while any is out of date.
"""
