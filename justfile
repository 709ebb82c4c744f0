# AIGateway tasks. On a bare machine use ./dev <recipe> (it creates .venv and installs first).

set shell := ["bash", "-euo", "pipefail", "-c"]

venv := justfile_directory() / ".venv/bin"

default:
    @just --list

# Run the gateway (embedded defaults: SQLite under ./data, in-process stores)
run *ARGS:
    {{venv}}/aigateway serve {{ARGS}}

# Create or upgrade the database schema
migrate:
    {{venv}}/aigateway migrate

# The whole test suite (unit, property, contract, integration, e2e), two workers
test *ARGS:
    {{venv}}/pytest -n 2 --dist loadgroup -q {{ARGS}}

# ruff, mypy --strict, import-linter layer contracts, dead code (vulture), known vulnerabilities
lint: && audit
    {{venv}}/ruff check pkg/aigateway tests
    {{venv}}/ruff format --check pkg/aigateway tests
    {{venv}}/mypy pkg/aigateway tests
    {{venv}}/lint-imports
    {{venv}}/vulture

# Published advisories against the installed packages (pip-audit asks PyPI: needs the network).
# The list is pip freeze's: pip, setuptools and the editable project itself are left out.
audit:
    {{venv}}/pip freeze --exclude-editable | {{venv}}/pip-audit --requirement /dev/stdin --no-deps --disable-pip --progress-spinner off

# Format the code
fmt:
    {{venv}}/ruff check --fix pkg/aigateway tests
    {{venv}}/ruff format pkg/aigateway tests

# Benchmark D/P/G(/L) back to back: `just bench [--quick | --soak | --memory]` (bench/README.md)
[positional-arguments]
bench *ARGS:
    @command -v wrk >/dev/null || { s=$([ "$(id -u)" = 0 ] || echo sudo); $s apt-get update -qq && $s apt-get install -y -qq wrk; }
    {{venv}}/python bench/run.py "$@"
