# Agora — the two commands:
#   make serve   install what is missing, build, and serve at http://127.0.0.1:3000
#   make test    install what tests need, then run every test
# Both are idempotent and skip installed tools.

SHELL := /bin/bash
export PATH := $(CURDIR)/tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# Debug builds of the server share artifacts with `cargo test` only when the
# flags match the ones scripts/build-site (and cargo-leptos) use.
LEPTOS_DEV_RUSTFLAGS := --cfg erase_components

AGORA_DATA_DIR ?= ./data
export AGORA_DATA_DIR

.PHONY: serve test watch tools test-tools bench lint

serve: tools
	@printf '\033[1;34m==>\033[0m %s\n' "building and serving the release build (from an empty cargo cache on 2 cores: 15 to 20 minutes, after a 7-minute wasm-bindgen build on a new machine; later builds reuse it); it serves at http://$${AGORA_ADDR:-127.0.0.1:3000} once built"
	scripts/build-site --release
	target/release/agora serve

# Live reload while developing: needs cargo-leptos (built once, ~30 minutes).
watch:
	@scripts/install-tools --watch
	cargo leptos watch

# Rust tests, the WASM dependency check, then Playwright in Chromium.
test: tools test-tools
	@scripts/test-all

tools:
	@scripts/install-tools

test-tools:
	@scripts/install-test-tools

# Release-build benchmarks; figures go in the README.
bench: tools
	scripts/build-site --release
	target/release/agora bench startup
	target/release/agora bench storage
	target/release/agora bench datasets
	target/release/agora bench index
	target/release/agora bench dashboards
	target/release/agora bench runs
	target/release/agora bench monitoring
	scripts/bench-nodes target/release/agora

lint:
	cargo fmt --all --check
	RUSTFLAGS="$(LEPTOS_DEV_RUSTFLAGS)" LEPTOS_OUTPUT_NAME=agora cargo clippy --workspace --exclude agora-frontend --all-targets -- -D warnings
