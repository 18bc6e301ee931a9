# commitopt: PGXS build of the extension plus the project's entry points.
#
#   make start   install what is missing, build, start a local cluster, load
#                the sample data, run the main job and print the report
#   make test    the same in a throwaway cluster, then every test suite
#   make bench   benchmarks (generated data, figures side by side)
#   make stop    stop the local cluster started by 'make start'
#
# The PGXS part below only exists once PostgreSQL's server headers are
# installed; the entry points install them first and then call make again.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

EXTENSION = commitopt
MODULE_big = commitopt
# One object per C file in extension/: each file is one concern.
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard extension/*.c)))

DATA_built = commitopt--0.1.sql
SQL_PARTS = $(sort $(wildcard extension/sql/*.sql))
# The common-password blocklist, read at run time from share/extension.
DATA = data/passwords/commitopt-common-passwords.sorted.txt

SHLIB_LINK = -lcsv -largon2 -lcurl -lssl -lcrypto -lxml2
PG_CPPFLAGS = -I/usr/include/libxml2
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wmissing-prototypes -Wpointer-arith -Werror=implicit-function-declaration

# Every file in sql/ is a pg_regress test; the list is their sorted names.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=commitopt --dbname=commitopt_regression
# Every file in specs/ is an isolation test (concurrent sessions).
ISOLATION = $(sort $(patsubst specs/%.spec,%,$(wildcard specs/*.spec)))
ISOLATION_OPTS = --load-extension=commitopt

# No LLVM bitcode: it would need clang, and JIT gains nothing here.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

commitopt--0.1.sql: $(SQL_PARTS)
	cat $(SQL_PARTS) > $@

# The HTTPS gateway builds on its own (scripts build it when needed).
.PHONY: start test bench stop gateway
gateway:
	$(MAKE) -C gateway
start:
	@bash scripts/start.sh
test:
	@bash scripts/test.sh
bench:
	@bash scripts/bench.sh
stop:
	@bash scripts/gateway.sh main stop
	@bash scripts/cluster.sh main stop
