# The two commands of the README: `make run` and `make test`. Everything else supports them.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format venv migrate clean agent-image

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

## make run: web + worker + beat on http://127.0.0.1:8000 with embedded defaults (no services needed)
run: migrate
	$(BIN)/python manage.py mate ensure-operator
	$(BIN)/honcho start -f Procfile

## make test: ruff and the whole pytest suite
test: $(STAMP) lint
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

## make agent-image: build mate-base, mate-agent and mate-test-agent from scratch (cached by recipe)
agent-image:
	bash jobs/agent/build.sh
