# Two commands matter on a fresh machine: `make run` and `make test` (Python 3.11+ and make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-postgres fuzz lint bench load federation clean help

help:
	@echo "make run     install, load the demo data, serve the gateway on http://127.0.0.1:8080"
	@echo "make test    install and run the whole test suite"
	@echo "make lint    ruff, mypy (strict), import-linter"
	@echo "make fuzz    schemathesis over /openapi.json with many examples, SQLite then PostgreSQL (minutes)"
	@echo "make bench   ingest, query, carrier-layout, national-record, translate-vcf and summary benchmarks (minutes)"
	@echo "make load    a mixed load (Beacon, \$$summary, consent webhooks) on a real server, 60 s per back end"
	@echo "make federation  three member states' gateways (DE, FR, IT) on 127.0.0.1 and a narrated walkthrough"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

PKI := $${GATEWAY_PKI_DIR:-certs}
# A national node: patients, summaries and genomic reports. Consent and AuditEvent reads are
# the citizen portal's (a restriction must not be visible to care providers, EHDS Art. 8).
DEMO_SCOPES := system/Patient.rs system/DiagnosticReport.rs system/Observation.rs system/Bundle.c

run: $(STAMP)
	@test -f "$(PKI)/$${GATEWAY_COUNTRY:-DE}/signing.pem" || \
		$(BIN)/gateway pki init --countries $${GATEWAY_COUNTRY:-DE}
	$(BIN)/gateway demo
	@$(BIN)/gateway clients list | cut -f1 | grep -qx demo-node || \
		$(BIN)/gateway clients add demo-node --generate-key "$(PKI)/clients" --scopes "$(DEMO_SCOPES)"
	@echo ""
	@echo "Gateway for $${GATEWAY_COUNTRY:-DE} on http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}"
	@echo "  Beacon:   http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/beacon/info"
	@echo "  Variants: http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/beacon/g_variants?geneId=BRCA2"
	@echo "  Cohort:   http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/beacon/individuals?filters=ICD10:E11"
	@echo "  FHIR:     http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/fhir/metadata"
	@echo "  Summary:  http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/fhir/Patient/\$$summary?identifier=SYSTEM%7CVALUE (the example citizen above)"
	@echo "  Keys:     http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/.well-known/jwks.json (summaries are signed; check one with gateway verify FILE)"
	@echo "  OAuth:    http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/.well-known/oauth-authorization-server"
	@echo "  API docs: http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/docs"
	@echo ""
	@echo "FHIR and national routes need an access token (5 minutes). In another terminal:"
	@echo "  TOKEN=\$$($(BIN)/gateway token --client demo-node --key $(PKI)/clients/demo-node.key)"
	@echo "  curl -H \"Authorization: Bearer \$$TOKEN\" 'http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}/fhir/Patient/\$$summary?identifier=SYSTEM%7CVALUE'"
	@echo ""
	$(BIN)/gateway serve

test: $(STAMP)
	$(BIN)/pytest -q

# The same suite on PostgreSQL (a scratch database is created on this server and dropped).
test-postgres: $(STAMP)
	GATEWAY_TEST_DATABASE_URL=$${GATEWAY_TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} $(BIN)/pytest -q

# The long fuzz: the test `make test` runs with a few examples per operation, here with
# GATEWAY_FUZZ_EXAMPLES (default 200) on SQLite, then on PostgreSQL.
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	GATEWAY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -rP -p no:cacheprovider --timeout=3600 tests/fuzz
	GATEWAY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) GATEWAY_TEST_DATABASE_URL=$${GATEWAY_TEST_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -q -rP -p no:cacheprovider --timeout=3600 tests/fuzz

lint: $(STAMP)
	$(BIN)/ruff check gateway tests bench sandbox
	$(BIN)/ruff format --check gateway tests bench sandbox
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.query
	$(BIN)/python -m bench.carriers
	$(BIN)/python -m bench.records
	$(BIN)/python -m bench.translate_vcf
	$(BIN)/python -m bench.summary
	$(BIN)/python -m bench.cross_border

# Beacon queries, $summary reads and signed consent webhooks from 8 clients, 60 s measured per
# back end (PostgreSQL: a database bench_load on BENCH_POSTGRES_URL's server); fails on any
# error, a lost webhook, a broken audit chain or memory growing 10% or more after the warm-up.
load: $(STAMP)
	$(BIN)/python -m bench.mixed_load --duration 60 --warmup 10 $(LOAD_ARGS)

# Three gateways on 127.0.0.1:8441-8443 and the walkthrough (README "Three member states on one
# machine"); FEDERATION_ARGS=--keep-running leaves them running afterwards.
federation: $(STAMP)
	$(BIN)/python -m sandbox.federation $(FEDERATION_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
