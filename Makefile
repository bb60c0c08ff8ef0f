# Landauer — the two commands that do everything:
#   make demo   install what is missing, then run `landauer demo` on the virtual bench
#   make test   install what is missing, then build and pass every test (what CI runs)

SYSTEM_PACKAGES := pkg-config libusb-1.0-0-dev libserialport-dev libsqlite3-dev zlib1g-dev qemu-system-arm gcc-arm-none-eabi binutils-arm-none-eabi chromium-headless-shell
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FUZZ_SECONDS ?= 30

.PHONY: demo test setup build bench embedded fuzz clean

## Install the system packages the toolkit needs (Debian/Ubuntu), only those missing.
setup:
	@command -v $(SWIFT) >/dev/null || { echo "error: the Swift toolchain (swift) is not on PATH; install Swift 6 from swift.org first" >&2; exit 1; }
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

build: setup
	$(SWIFT) build

## The main job on the in-process virtual bench: calibrate the meter, train on the digits with the
## meter on, write the HTML report (its path is printed last). Release build: training is ~100×
## faster than in a debug build.
demo: setup
	$(SWIFT) run -c release landauer demo

## Every test: the Embedded-Swift cross-compile of the firmware, a short libFuzzer run of the
## protocol decoder and engine, third-party clients (pyvisa, ppk2-api from PyPI, in a venv under
## .build/) against `landauer sim bench`, the digits training floors (release build, Tests/Training/digits.sh),
## then the unit and end-to-end tests (serially: several tests bound
## real-time timeouts, which a saturated 2-core pool would otherwise stretch).
test: setup
	$(SWIFT) build --build-tests
	Firmware/Embedded/check.sh
	Firmware/Fuzz/run.sh $(FUZZ_SECONDS)
	Tests/Interop/run.sh
	Tests/Training/digits.sh
	Tests/Training/twin.sh
	Firmware/STM32/build.sh
	$(SWIFT) test --skip-build --no-parallel

## Benchmarks (release build), one JSON object per figure.
bench: setup
	$(SWIFT) run -c release landauer-bench board
	$(SWIFT) run -c release landauer-bench train

embedded:
	Firmware/Embedded/check.sh

fuzz:
	Firmware/Fuzz/run.sh $(FUZZ_SECONDS)

## The STM32F405 firmware images (QEMU and reference board), with their sizes.
.PHONY: firmware
firmware: setup
	Firmware/STM32/build.sh

clean:
	rm -rf .build fuzz-artifacts
