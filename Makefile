# swift-dataflow. `make run` and `make test` set up whatever is missing (scripts/bootstrap) first.
ROOT        := $(abspath .)
DEPS        := $(ROOT)/.deps
CONFIG      ?= debug
export PKG_CONFIG_PATH := $(DEPS)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
# Binaries find a project-local librdkafka without LD_LIBRARY_PATH.
SWIFT_FLAGS := -Xlinker -rpath -Xlinker $(DEPS)/lib

.PHONY: setup build test run bench soak clean

setup:
	@scripts/bootstrap

build: setup
	swift build -c $(CONFIG) $(SWIFT_FLAGS)

test: setup
	@SWIFT_FLAGS="$(SWIFT_FLAGS)" scripts/test

run: setup
	@SWIFT_FLAGS="$(SWIFT_FLAGS)" scripts/run

bench: setup
	@SWIFT_FLAGS="$(SWIFT_FLAGS)" scripts/bench $(BENCH_ARGS)

soak: setup
	@SWIFT_FLAGS="$(SWIFT_FLAGS)" scripts/soak $(SOAK_ARGS)

clean:
	-scripts/broker stop >/dev/null 2>&1
	rm -rf .build .build-* .run
