# meter - the energy-data toolkit.  See README.md.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
EXAMPLEDIR ?= $(PREFIX)/share/doc/meter/examples
BQDIR ?= $(PREFIX)/share/meter/bigquery
CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

# Warnings stay on whatever CFLAGS says; SAN=1 builds with ASan + UBSan into
# its own tree so the two builds never mix objects.
PKGS = yajl sqlite3 libpq libxml-2.0 libical libcurl libcrypto zlib libmosquitto gsl
WARN = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2
ifeq ($(FUZZ),1)
# libFuzzer harnesses (fuzz/): clang, the library built for coverage
BUILD = build-fuzz
override CC = clang
CFLAGS = -O1 -g -DMT_LINE_MAX=4096
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else ifeq ($(SAN),1)
BUILD = build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD = build
SANFLAGS =
endif
BIN = $(if $(filter 1,$(SAN) $(FUZZ)),$(BUILD)/bin,bin)
# a harness per row of the connector table, and one per other parser
CONNECTORS = $(shell sed -n 's/^MT_CONNECTOR.[A-Z0-9_]*, *"\([a-z0-9]*\)".*/\1/p' lib/conn/types.def)
FUZZERS = ndjson time config context url $(CONNECTORS)
FUZZ_SECONDS ?= 60

ALL_CFLAGS = -std=c11 $(WARN) $(CFLAGS) $(SANFLAGS) \
	$(shell $(PKG_CONFIG) --cflags $(PKGS))
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

# Each program links what it uses, and nothing more: meter-load, which
# only validates configurations, links no connector and no libcsv.
# make check-links checks it on the built programs.
pc = $(shell $(PKG_CONFIG) --libs $(1))
LIBS_meter-fetch = $(call pc,yajl libxml-2.0 libcurl libcrypto zlib) -lcsv -lm
LIBS_meter-standardize = $(call pc,yajl) -lm
LIBS_meter-load = $(call pc,yajl libxml-2.0 sqlite3 libpq) -lm
LIBS_meter-aggregate = $(call pc,yajl libxml-2.0 sqlite3 libpq) -lm
LIBS_meter-enrich = $(call pc,yajl libxml-2.0 libical zlib) -lcsv -lm
LIBS_meter-inbox = -lm
LIBS_meter-report = $(call pc,yajl libxml-2.0 sqlite3 libpq) -lcsv -lm
LIBS_meter-listen = $(call pc,yajl libxml-2.0 libmosquitto libcrypto) -lm
LIBS_meter-baseline = $(call pc,yajl libxml-2.0 sqlite3 libpq gsl) -lm
# what every library object may need: the fuzz harnesses and yajl-floor
LIBS = $(call pc,$(PKGS)) -lcsv -lm

PROGS = meter-fetch meter-standardize meter-load meter-aggregate meter-enrich meter-inbox meter-report meter-listen meter-baseline
SCRIPTS = meter-hourly meter-init
LIB_SRC = $(wildcard lib/*.c lib/*/*.c)
LIB_OBJ = $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
MAN1 = $(wildcard man/*.1)
MAN5 = $(wildcard man/*.5)
MAN7 = $(wildcard man/*.7)

all: $(PROGS:%=$(BIN)/%)

$(BUILD)/lib/%.o: lib/%.c lib/meter.h lib/meter_priv.h lib/conn/types.def $(wildcard lib/warehouse/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/cmd/%.o: cmd/%.c lib/meter.h lib/conn/types.def
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libmeter.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(BIN)/%: $(BUILD)/cmd/%.o $(BUILD)/libmeter.a
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_$*)

# What each program must not link: the connectors and their libraries stay
# with meter-fetch (and libcsv with meter-enrich's context files).
PARSERS = mt_payload_parse|$(shell sed -n 's/.*[ (]\(mt_parse_[a-z0-9_]*\))$$/\1/p' lib/conn/types.def | paste -sd'|')
check-links: all
	@for p in meter-load meter-aggregate meter-standardize meter-inbox; do \
		if nm $(BIN)/$$p | grep -Eq " T ($(PARSERS))$$"; then echo "$$p links a connector"; exit 1; fi; \
		if ldd $(BIN)/$$p | grep -Eq 'libcsv|libcurl|libical'; then echo "$$p links $$(ldd $(BIN)/$$p | grep -Eo 'libcsv|libcurl|libical' | head -1)"; exit 1; fi; \
	done; \
	if ldd $(BIN)/meter-inbox | grep -Eq 'yajl|xml2|sqlite|curl|crypto|libz'; then echo "meter-inbox links more than libc"; exit 1; fi; \
	echo "links: each program links what it uses"

$(BUILD)/fuzz-%: fuzz/fuzz-%.c fuzz/fuzz.h $(BUILD)/libmeter.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libmeter.a $(LIBS)

$(CONNECTORS:%=$(BUILD)/fuzz-%): $(BUILD)/fuzz-%: fuzz/connector.c fuzz/fuzz.h $(BUILD)/libmeter.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -DFUZZ_CONNECTOR='"$*"' -o $@ $< \
		$(BUILD)/libmeter.a $(LIBS)

fuzzers: $(FUZZERS:%=$(BUILD)/fuzz-%)

# Each harness for FUZZ_SECONDS, seeded from the fixtures and the demo.
fuzz:
	$(MAKE) FUZZ=1 fuzzers
	sh scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZERS)

# The sanitizers carry their own memory: the suite's memory bounds and its
# gigabyte stream are relaxed for them.  The browser suite (headless
# Chromium rendering meter-report's pages) runs in the plain stage only:
# the report's C code is reached under the sanitizers and valgrind by
# tests/75-report.bats, and a browser under ASan's preload adds nothing.
BROWSER_SUITE = tests/76-report-browser.bats
check: all check-links
	$(if $(filter 1,$(SAN)),METER_HEAVY_MB=256 METER_MEM_KB=2097152 METER_SKIP="$(BROWSER_SUITE)") \
		METER_BIN=$(CURDIR)/$(BIN) sh tests/run

# The suite with every program under valgrind (memcheck: invalid reads and
# writes, uninitialised values, definite leaks all fail the test).  The
# hostile-participant suite runs in the plain and sanitizer stages only: it
# reaches no C code the other suites leave out, and its many dispatcher
# runs would cost ten minutes here.  The PostgreSQL suite (a throwaway
# cluster it starts, tests/pg_cluster.sh) runs in the plain and sanitizer
# stages: the sanitizers cover postgres.c, the only C code it alone reaches.
# The MQTT suite (a mosquitto broker it starts, tests/mqtt_broker.sh) runs
# in the plain and sanitizer stages likewise: listen.c and the mqtt
# connector are what it alone reaches, and the sanitizers cover them;
# under valgrind its timed waits for a broker would only grow.  The
# baseline's hourly-model suite runs in the plain and sanitizer stages: its
# two fits of a year's hours take a minute each under valgrind, and the
# sanitizers cover baseline.c's hourly code; the daily model, the program,
# its storage and its report run under valgrind in tests/78-baseline.bats.
PG_SUITE = tests/59-postgres.bats
MQTT_SUITE = tests/88-listen.bats
BASELINE_HOURLY_SUITE = tests/79-baseline-hourly.bats
VALGRIND_SKIP = tests/97-hostile.bats $(BROWSER_SUITE) $(PG_SUITE) $(MQTT_SUITE) \
	$(BASELINE_HOURLY_SUITE)
check-valgrind: all
	rm -rf build-vg && mkdir -p build-vg/bin
	for p in $(PROGS); do \
		printf '#!/bin/sh\nexec valgrind -q --error-exitcode=88 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite %s "$$@"\n' \
			"$(CURDIR)/bin/$$p" > build-vg/bin/$$p; chmod +x build-vg/bin/$$p; done
	METER_QUICK=1 METER_HEAVY_MB=16 METER_MEM_KB=2097152 METER_BIN=$(CURDIR)/build-vg/bin \
		METER_SKIP="$(VALGRIND_SKIP)" sh tests/run

# What CI runs: the man pages' lint, the suite, again under ASan + UBSan and under valgrind, and
# every fuzzer for FUZZ_SECONDS (default 10 here).
ci:
	sh scripts/ci.sh

# Every page lints clean at mandoc's strictest level (-W style), with the
# cross-references among the pages resolved through a whatis database of
# them; a note about the system's own database is not about these pages.
lint:
	@rm -rf $(BUILD)/man && for s in 1 5 7; do mkdir -p $(BUILD)/man/man$$s; done
	@for m in $(MAN1) $(MAN5) $(MAN7); do cp $$m $(BUILD)/man/man$${m##*.}/; done
	@if command -v mandoc >/dev/null; then \
		makewhatis $(BUILD)/man && \
		mandoc -T lint -W style -m $(BUILD)/man $(MAN1) $(MAN5) $(MAN7) 2>&1 | \
		grep ': man/' && exit 1 || true; \
	else for m in $(MAN1) $(MAN5) $(MAN7); do groff -mandoc -ww -z $$m || exit 1; done; fi
	@echo "$(words $(MAN1) $(MAN5) $(MAN7)) passed, 0 failed: every man page lints clean"

$(BUILD)/yajl-floor: scripts/yajl-floor.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS)

bench: all $(BUILD)/yajl-floor
	sh scripts/bench.sh $(BIN) $(BUILD)/yajl-floor

# a year of 1,000 meters through the whole pipeline (scripts/bench-scale.sh;
# its 35 million readings, about 1 GB of CSV, are made once in bench-data);
# SCALE="100 30" for 100 meters over 30 days
SCALE = 1000 365
bench-scale: all
	sh scripts/bench-scale.sh $(BIN) $(SCALE)

demo: all
	sh examples/demo.sh $(BIN)

deps:
	sh scripts/deps.sh

# The directories install makes are listed once, so that uninstall can
# remove those of them it leaves empty, up to PREFIX (rmdir never removes
# one that holds anything else).
INSTALL_DIRS = $(BINDIR) $(MANDIR)/man1 $(MANDIR)/man5 $(MANDIR)/man7 $(EXAMPLEDIR) $(BQDIR)
EXAMPLES = examples/crontab examples/meter-listen@.service examples/README.md
# BigQuery table schemas and views (meter-warehouse(5), BigQuery)
BIGQUERY = lib/warehouse/bigquery/meter_hour.json lib/warehouse/bigquery/property_hour.json \
	lib/warehouse/bigquery/views.sql

install: all
	for d in $(INSTALL_DIRS); do mkdir -p $(DESTDIR)$$d; done
	for p in $(PROGS); do install -m 755 $(BIN)/$$p $(DESTDIR)$(BINDIR)/$$p; done
	for s in $(SCRIPTS); do install -m 755 scripts/$$s $(DESTDIR)$(BINDIR)/$$s; done
	for m in $(MAN1); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in $(MAN5); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for m in $(MAN7); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man7/; done
	for e in $(EXAMPLES); do install -m 644 $$e $(DESTDIR)$(EXAMPLEDIR)/; done
	for b in $(BIGQUERY); do install -m 644 $$b $(DESTDIR)$(BQDIR)/; done

uninstall:
	for p in $(PROGS) $(SCRIPTS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	for m in $(MAN5); do rm -f $(DESTDIR)$(MANDIR)/man5/$${m#man/}; done
	for m in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$${m#man/}; done
	for e in $(EXAMPLES); do rm -f $(DESTDIR)$(EXAMPLEDIR)/$${e#examples/}; done
	for b in $(BIGQUERY); do rm -f $(DESTDIR)$(BQDIR)/$${b##*/}; done
	for d in $(INSTALL_DIRS); do \
		while [ "$$d" != "$(PREFIX)" ] && [ -n "$$d" ] && rmdir "$(DESTDIR)$$d" 2>/dev/null; do \
			d=$${d%/*}; done; \
	done

clean:
	rm -rf build build-san build-fuzz bin

.PHONY: all check check-links check-valgrind ci lint bench bench-scale demo deps install uninstall clean fuzz fuzzers
.SECONDARY:
