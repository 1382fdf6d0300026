# Sawmill: `make run` serves the dashboard, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
REPO ?=
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo keeps its own database; a real repository uses Sawmill's one store (the data folder),
# which every sawmill command and server agrees on wherever it runs.
DEMO := SAWMILL_DATABASE_URL=sqlite:///$(CURDIR)/var/demo.db

.PHONY: install run test bench demo clean

install: $(STAMP)

# `make run` installs what runs; `make test` and `make bench` add the test tools.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable .
	@# bytecode now, as pip does for a wheel: where PYTHONDONTWRITEBYTECODE is set, every command would compile the app again
	$(BIN)/python -m compileall -q app
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --editable '.[test]'
	touch $(TEST_STAMP)

run: $(STAMP)
ifeq ($(REPO),)
	$(DEMO) $(BIN)/sawmill demo var/demo-repo
	$(DEMO) $(BIN)/sawmill serve --repo var/demo-repo --host $(HOST) --port $(PORT)
else
	$(BIN)/sawmill scan $(REPO)
	$(BIN)/sawmill serve --repo $(REPO) --host $(HOST) --port $(PORT)
endif

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

bench: $(TEST_STAMP)
	@command -v wrk >/dev/null || echo "note: without wrk (apt-get install wrk) the API load comes from Python sharing the server's cores"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var
