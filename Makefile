# The two quick-start commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint bench clean setup catalogues lock migration

# The exact, hash-checked versions of requirements-dev.lock (runtime, postgres, dkim and dev
# extras), then coordbot itself without resolving anything again; `pip check` catches a
# dependency added to pyproject.toml but not to the lock (`make lock`).
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

setup: $(STAMP)

# Regenerate both lock files from pyproject.toml at the newest versions its bounds allow:
# requirements.lock for production (runtime + postgres + dkim), requirements-dev.lock for
# development and CI, held to the same versions by taking the first as constraints.
LOCK_VENV := .venv-lock
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile --quiet --upgrade \
	--generate-hashes --strip-extras --no-emit-find-links --no-emit-index-url
lock:
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet 'pip-tools>=7.4,<8'
	$(PIP_COMPILE) --extra postgres --extra dkim -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --all-extras --constraint requirements.lock -o requirements-dev.lock pyproject.toml

# The demo takes any free port for the calendar server (and prints its address) unless
# COORDBOT_CALENDAR_LISTEN says otherwise.
run: $(STAMP)
	COORDBOT_CALENDAR_LISTEN="$${COORDBOT_CALENDAR_LISTEN:-127.0.0.1:0}" $(BIN)/coordbot run

# Every test marked `db` (the ones that touch the database; an unmarked one that does fails)
# runs a second time on a throwaway PostgreSQL cluster (skipped with a note where no PostgreSQL
# server is installed; CI installs one and sets CI=1, which makes a missing server an error).
# The two passes share nothing (own temporary folders, own databases): `make -j2 -O test` runs
# them side by side, as CI does.
test: test-sqlite test-postgres

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest --basetemp=$(VENV)/pytest-sqlite

test-postgres: $(STAMP)
	COORDBOT_TEST_POSTGRES=1 $(BIN)/python -m pytest -m db --basetemp=$(VENV)/pytest-postgres

# The catalogues: stale (code and .po disagree), untranslated or fuzzy in nb/nn, placeholders.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m bot.catalogues check

# Extract every message (gettext:2, ngettext:2,3, N_) and merge it into bot/locale/*/coordbot.po;
# then translate the new empty nb and nn entries.
catalogues: $(STAMP)
	$(BIN)/python -m bot.catalogues update

# A new schema revision after changing a table module: autogenerate against a scratch database
# at the current head (bot/migrations/__init__.py says what to check in the file it writes).
migration: $(STAMP)
	@test -n "$(MESSAGE)" || { echo 'usage: make migration MESSAGE="what changed"'; exit 2; }
	$(BIN)/python -m bot.migrations revision "$(MESSAGE)"

bench: $(STAMP)
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .mypy_cache .ruff_cache
