# The two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-installed-stamp

.PHONY: run test browser wrk lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,local]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,local,bench]'
	touch $(BENCH_STAMP)

## run: embedded Redis (unless REDIS_URL or REDIS_SENTINELS names yours) + web app on PORT (environment or
## .env; 8000) + one worker; one per directory (a second one exits 1, see service/dev_lock.py)
run: $(STAMP)
	$(BIN)/scrapestream dev

# Most tests wait on sockets and child processes, not the CPU: more processes than cores pay off.
# Each pytest-xdist process starts its own Redis; loadfile keeps a module's tests in one process, so
# a module-scoped stack, dev run or Redis cluster starts once (worksteal can hang at the very end:
# pytest-dev/pytest-xdist#884, seen here with xdist 3.8).
TEST_PROCESSES ?= 4

## test: the whole suite; it starts its own Redis and loopback servers (TEST_PROCESSES=0: in one process)
test: $(STAMP) browser
	$(BIN)/python -m pytest --numprocesses $(TEST_PROCESSES) --dist loadfile

## browser: Debian's Chromium, which the dashboard tests drive (Playwright cannot download browsers here)
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## wrk: the HTTP load generator bench/submits.py drives both web apps with
wrk:
	@command -v wrk >/dev/null || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

## lint: ruff, mypy --strict, and vulture for code nothing uses ([tool.vulture] in pyproject.toml; vulture_whitelist.py)
lint: $(STAMP)
	$(BIN)/ruff check service jobs streams tests bench vulture_whitelist.py
	$(BIN)/mypy
	$(BIN)/vulture

# Each entry is a script and its arguments (quoted when there are any).
BENCHES = followers pickup kinds submits publish jobs_e2e "crawl --compare-scrapy" extract_costs fetch_throughput http_guard schedules

## bench: speed figures (printed, never asserted); README's Performance section quotes them
bench: $(BENCH_STAMP) wrk
	@for bench in $(BENCHES); do set -- $$bench; name=$$1; shift; \
	  echo "== bench/$$name.py $$*"; $(BIN)/python bench/$$name.py "$$@" || exit 1; done

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache *.egg-info
