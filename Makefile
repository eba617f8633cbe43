# Agora — the two commands:
#   make serve   install what is missing, build, and serve at http://127.0.0.1:3000
#   make test    install what tests need, then run every test
# Both are idempotent and skip installed tools.

SHELL := /bin/bash
export PATH := $(CURDIR)/tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# Debug builds of the server share artifacts with `cargo test` only when the
# flags match the ones cargo-leptos uses for dev builds.
LEPTOS_DEV_RUSTFLAGS := --cfg erase_components

AGORA_DATA_DIR ?= ./data
export AGORA_DATA_DIR

.PHONY: serve test watch tools test-tools test-rust test-e2e check-wasm-deps lint

serve: tools
	cargo leptos serve --release

watch: tools
	cargo leptos watch

test: tools test-tools test-rust check-wasm-deps test-e2e

tools:
	@scripts/install-tools

test-tools:
	@scripts/install-test-tools

test-rust:
	RUSTFLAGS="$(LEPTOS_DEV_RUSTFLAGS)" cargo test --workspace --exclude agora-frontend

check-wasm-deps:
	@scripts/check-wasm-deps

# The end-to-end suite gets a fresh, empty hub every run.
test-e2e:
	@e2e_data="$$(mktemp -d)"; trap 'rm -rf "$$e2e_data"' EXIT; \
	AGORA_DATA_DIR="$$e2e_data" RUST_LOG="$${RUST_LOG:-warn}" cargo leptos end-to-end

lint:
	cargo fmt --all --check
	RUSTFLAGS="$(LEPTOS_DEV_RUSTFLAGS)" cargo clippy --workspace --exclude agora-frontend --all-targets -- -D warnings
