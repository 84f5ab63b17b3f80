# The two commands of the README: `make run` and `make test`. Everything else supports them.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format venv migrate clean agent-image demo compose-check

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

## make test: ruff, the whole pytest suite, then the chaos stage (tests/chaos: kills and restarts
## the worker, Redis and PostgreSQL under load; it starts its own PostgreSQL and Redis)
test: $(STAMP) lint
	$(BIN)/pytest $(PYTEST_ARGS)
	$(BIN)/pytest -m chaos tests/chaos -rP $(CHAOS_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

## make compose-check: the production install for real (README, "Running in production"): build
## the images, bring compose.yaml up, run one job to DONE through the worker's socket, take it down
compose-check: $(STAMP)
	$(BIN)/python deploy/compose_check.py $(COMPOSE_CHECK_ARGS)

## make agent-image: build mate-base, mate-agent and mate-test-agent from scratch (cached by recipe)
agent-image:
	bash jobs/agent/build.sh

## make demo: Mate + the GitLab simulator + the LLM stand-in on this machine (needs Docker); assigns
## an issue to the bot and prints the console URL of the job. DEMO_ARGS="--port 8001" to change.
demo:
	@if ! command -v docker >/dev/null 2>&1; then \
	  echo "make demo: Docker is not installed, and agent jobs run in Docker containers." >&2; \
	  echo "  Install Docker Engine (https://docs.docker.com/engine/install/), start it," >&2; \
	  echo "  check that 'docker info' works, then run 'make demo' again." >&2; \
	  exit 2; \
	fi
	@if ! docker info >/dev/null 2>&1; then \
	  echo "make demo: Docker is installed but its engine does not answer:" >&2; \
	  docker info 2>&1 | grep -iE 'error|cannot|denied' | head -n 3 | sed 's/^/  /' >&2; \
	  echo "  Start it (sudo systemctl start docker), or let your user use it" >&2; \
	  echo "  (sudo usermod -aG docker \$$USER, then log in again); check with 'docker info'." >&2; \
	  exit 2; \
	fi
	@$(MAKE) --no-print-directory migrate
	bash jobs/agent/build.sh
	$(BIN)/python manage.py mate ensure-operator
	$(BIN)/python manage.py mate demo $(DEMO_ARGS)
