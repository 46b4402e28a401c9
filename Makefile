# The two quick-start commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean setup catalogues

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The demo takes any free port for the calendar server (and prints its address) unless
# COORDBOT_CALENDAR_LISTEN says otherwise.
run: $(STAMP)
	COORDBOT_CALENDAR_LISTEN="$${COORDBOT_CALENDAR_LISTEN:-127.0.0.1:0}" $(BIN)/coordbot run

# The database-heavy tests run a second time on a throwaway PostgreSQL cluster (skipped with a
# note where no PostgreSQL server is installed; CI installs one).
POSTGRES_TESTS ?= tests/test_registry_seed.py tests/test_registry_csv.py tests/test_outbox.py \
	tests/test_registry_edits.py

test: $(STAMP)
	$(BIN)/python -m pytest
	COORDBOT_TEST_POSTGRES=1 $(BIN)/python -m pytest $(POSTGRES_TESTS)

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

bench: $(STAMP)
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
