# Two commands for a newcomer: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test check lint format bench clean browser axe i18n

# Browser tests drive Debian's Chromium through Playwright (never a downloaded build);
# `tlh doctor`'s TURN tests talk to Debian's coturn on loopback; the relay bench's smoke
# test runs Debian's Janus in a private network namespace (its system service is disabled);
# tests/netns builds namespaces with iproute2 and nftables, and puts nginx in front of tlh;
# the reverse-proxy recipes (config/proxy/) are tested with Debian's Caddy and nginx, run
# on free loopback ports (their system services are disabled too). The PostgreSQL store's
# tests start Debian's PostgreSQL in a temp dir (tests/pgserver.py), and the multi-server
# tests put HAProxy in front of several `tlh serve`; neither system service runs. Debian's
# npm is asked for only where no npm is installed: it conflicts with NodeSource's nodejs.
CHROMIUM := /usr/bin/chromium
TURNSERVER := /usr/bin/turnserver
JANUS := /usr/bin/janus
NFT := /usr/sbin/nft
CADDY := /usr/bin/caddy
NGINX := /usr/sbin/nginx
HAPROXY := /usr/sbin/haproxy

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `make demo PORT=8766` when 8765 is taken.
demo: $(STAMP)
	$(BIN)/tlh demo $(if $(PORT),--port $(PORT))

browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(TURNSERVER) ] || [ ! -x $(JANUS) ] || [ ! -x $(NFT) ] || [ ! -x $(CADDY) ] || [ ! -x $(NGINX) ] || [ ! -x $(HAPROXY) ] || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v ip >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    npm=npm; if command -v npm >/dev/null; then npm=; fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium coturn janus $$npm nftables caddy nginx iproute2 postgresql haproxy >/dev/null; \
	    if command -v systemctl >/dev/null; then systemctl disable --now janus caddy nginx coturn postgresql haproxy >/dev/null 2>&1 || true; fi; \
	  else \
	    echo "the tests need Debian's chromium, coturn, janus, npm, nftables, caddy, nginx, iproute2, postgresql and haproxy: sudo apt-get install chromium coturn janus npm nftables caddy nginx iproute2 postgresql haproxy" >&2; \
	  fi; \
	fi

# axe-core (npm) for the browser tests' accessibility checks, in a test-only folder.
AXE := tests/e2e/axe/node_modules/axe-core/axe.min.js

$(AXE): tests/e2e/axe/package.json tests/e2e/axe/package-lock.json
	npm ci --prefix tests/e2e/axe --no-audit --no-fund --silent
	touch $(AXE)

axe: $(AXE)

test: $(STAMP) browser axe
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

check: lint axe
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every bench runs; each exits 1 when one of its verdicts failed (bench/verdicts.py), and
# the target then names them and fails.
bench: $(STAMP)
	@failed=""; \
	for b in bench/bench_*.py "bench/bench_signal_relay.py --pairs 10,50"; do \
		echo "== $$b"; $(BIN)/python $$b || failed="$$failed\n  $$b"; \
	done; \
	if [ -n "$$failed" ]; then printf "benches with a failed verdict:$$failed\n"; exit 1; fi

# The page catalogues (tlh/i18n/locale/*/LC_MESSAGES/messages.po) brought up to date with
# the pages' English strings; lists what still needs a translator (and fails then).
i18n: $(STAMP)
	$(BIN)/python -m tlh.i18n.update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/e2e/axe/node_modules
