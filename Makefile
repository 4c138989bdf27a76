# The two entry points of README.md:
#   make demo  - install what is needed, build, build the guest assets, boot the demo guest
#   make test  - the same set-up, then the whole test suite
.PHONY: all deps build build-asan assets demo test bench bench-cpu bench-io bench-work clean format

BUILD ?= build
ASAN_BUILD ?= build-asan
GUEST ?= $(BUILD)/guest
CMAKE_FLAGS ?=

all: build

deps:
	@bash scripts/setup.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@ninja -C $(BUILD)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DVESSEL_SANITIZE=ON -DVESSEL_BUILD_GUESTS=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@ninja -C $(ASAN_BUILD) vessel_unit_tests

assets: deps
	@bash scripts/build-guest-assets.sh $(GUEST)

demo: build assets
	@$(BUILD)/vessel --kernel $(GUEST)/vmlinuz --initrd $(GUEST)/initramfs.cpio.gz \
	  --memory 256M --cmdline "console=ttyS0 quiet"

test: build build-asan assets
	@bash scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

bench: build assets
	@bash bench/boot.sh

# Software CPU speed beside QEMU's TCG (bench/cpu.sh; ACCEL, BENCH_RUNS, ... in its header).
bench-cpu: build
	@bash bench/cpu.sh $(BUILD)

# Paravirtual I/O beside QEMU (bench/io.sh; ACCEL, BENCH_RUNS, ... in its header).
bench-io: build assets
	@bash bench/io.sh $(BUILD)

# CPU-bound work inside the guest beside QEMU (bench/work.sh; ACCEL, BENCH_RUNS, ... in its header).
bench-work: build assets
	@bash bench/work.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files "*.cc" "*.h" ":!tests/guests")

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
