# The README's commands. meson + ninja do the building; this file only
# installs what the build and the tests need and strings the steps together.
BUILD ?= build
ASAN ?= build-asan
PREFIX ?= /usr/local

.PHONY: all deps test-deps check check-unit check-v2 demo image image-debian install uninstall bench clean

all: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(ASAN)/build.ninja:
	meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false

# Every test: unit tests (plain and sanitized), integration tests as root,
# real engines driving cell-runtime, and the pure cgroup-v2 VM.
check: all test-deps $(ASAN)/build.ninja
	ninja -C $(ASAN)
	tests/run.sh

check-unit: all $(ASAN)/build.ninja
	ninja -C $(ASAN)
	tests/run.sh unit

check-v2: all test-deps
	tests/run.sh vm

image: all
	scripts/mkimage-busybox.sh

image-debian: all
	scripts/mkimage-debian.sh

demo: all image
	scripts/demo.sh

bench: all test-deps
	bench/run.sh

install: all
	install -D -m 0755 $(BUILD)/cell $(DESTDIR)$(PREFIX)/bin/cell
	install -D -m 0755 $(BUILD)/cell-runtime $(DESTDIR)$(PREFIX)/bin/cell-runtime
	install -D -m 0755 $(BUILD)/src/monitor/cell-monitor $(DESTDIR)$(PREFIX)/bin/cell-monitor
	install -D -m 0755 $(BUILD)/src/init/cell-init $(DESTDIR)$(PREFIX)/bin/cell-init
	install -D -m 0755 $(BUILD)/src/dns/cell-dns $(DESTDIR)$(PREFIX)/bin/cell-dns
	install -D -m 0644 docs/cell-runtime.1 $(DESTDIR)$(PREFIX)/share/man/man1/cell-runtime.1
	install -D -m 0644 docs/cell.1 $(DESTDIR)$(PREFIX)/share/man/man1/cell.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/cell $(DESTDIR)$(PREFIX)/bin/cell-runtime \
		$(DESTDIR)$(PREFIX)/bin/cell-monitor $(DESTDIR)$(PREFIX)/bin/cell-init \
		$(DESTDIR)$(PREFIX)/bin/cell-dns \
		$(DESTDIR)$(PREFIX)/share/man/man1/cell-runtime.1 $(DESTDIR)$(PREFIX)/share/man/man1/cell.1

clean:
	rm -rf $(BUILD) $(ASAN)
