/*-------------------------------------------------------------------------
 *
 * simulate_sql.c
 *	  commitopt.simulate() and commitopt.simulate_with_extra_compute_sp():
 *	  load a tenant's usage and commitments in bulk, run the engine of
 *	  simulator.c, store the results in bulk.
 *
 * Inputs come from a handful of SPI queries (accounts, series, usage
 * months, RIs, Savings Plans, one query per SP rate table); the usage
 * arrays are detoasted once and handed to the engine as they are.  The
 * results go back with one INSERT ... SELECT unnest(...), ... per table
 * (the hourly and daily rows reach their run through the triggers of
 * 42_simulation_run_refs.sql, checked once per run rather than per row).
 * commitopt.simulate() logs the time of each phase at DEBUG1.
 * Everything runs between SPI_connect and SPI_finish, so all memory lives
 * in SPI's procedure context and an error frees it.
 *
 * extension/simulate_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "portability/instr_time.h"

#include "commitopt.h"
#include "simulate_sql.h"

PG_FUNCTION_INFO_V1(commitopt_simulate);
PG_FUNCTION_INFO_V1(commitopt_simulate_with_extra_compute_sp);

/* Longest window simulated at once: about ten years of hours. */
#define SIM_MAX_HOURS	(24 * 366 * 10)

/*
 * Sane bounds of commitments (as the CHECKs of 00_reference.sql): a
 * stored value outside them is refused with the commitment's name rather
 * than simulated, and so is a what-if commitment.
 */
#define SIM_MAX_RI_COUNT		1000000
#define SIM_MAX_HOURLY_RATE		10000.0
#define SIM_MIN_SP_COMMITMENT	0.001
#define SIM_MAX_SP_COMMITMENT	10000000.0

/* Interned names: key, then its small integer. */
#define SIM_NAME_LEN	160
typedef struct SimName
{
	char		key[SIM_NAME_LEN];
	int			id;
} SimName;

/*
 * sim_palloc and sim_pfree are the engine's allocator in the backend.
 */
static void *
sim_palloc(size_t size)
{
	return palloc_extended(size, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

static void
sim_pfree(void *ptr)
{
	pfree(ptr);
}

/*
 * run_query runs a parameterized query and fails on any SPI error.
 */
static void
run_query(const char *sql, int nargs, Oid *types, Datum *values)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL,
										   false, 0);

	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
}

/*
 * Column accessors for SPI_tuptable: NULL becomes NaN, "" or -1.
 */
static double
col_float(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? NAN : DatumGetFloat8(d);
}

static char *
col_text(int row, int col)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								 col);

	return v ? v : pstrdup("");
}

static bool
col_bool(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return !isnull && DatumGetBool(d);
}

static int64
col_int64(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
								  col, &isnull);

	return isnull ? -1 : DatumGetInt64(d);
}

/*
 * col_shown returns a text column for an error message, cut to 40
 * characters ("..." marking the cut): a numeric such as 1e400 prints
 * with all its digits.
 */
static char *
col_shown(int row, int col)
{
	char	   *v = col_text(row, col);

	if (strlen(v) <= 40)
		return v;
	return psprintf("%.40s...", v);
}

/*
 * intern returns the number of name within its kind, giving new names the
 * next number of *counter.
 */
static int
intern(HTAB *names, char kind, const char *name, int *counter)
{
	char		key[SIM_NAME_LEN];
	SimName    *e;
	bool		found;

	if (strlen(name) + 2 >= SIM_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("name \"%s\" is too long to simulate", name)));
	memset(key, 0, sizeof(key));
	key[0] = kind;
	key[1] = ':';
	strcpy(key + 2, name);
	e = hash_search(names, key, HASH_ENTER, &found);
	if (!found)
		e->id = (*counter)++;
	return e->id;
}

/*
 * lookup returns the number of an interned name, or -1.
 */
static int
lookup(HTAB *names, char kind, const char *name)
{
	char		key[SIM_NAME_LEN];
	SimName    *e;

	if (strlen(name) + 2 >= SIM_NAME_LEN)
		return -1;
	memset(key, 0, sizeof(key));
	key[0] = kind;
	key[1] = ':';
	strcpy(key + 2, name);
	e = hash_search(names, key, HASH_FIND, NULL);
	return e ? e->id : -1;
}

/*
 * simsql_check_tenant fails unless the tenant exists; returns its slug.
 */
char *
simsql_check_tenant(Datum tenant)
{
	Oid			types[1] = {UUIDOID};
	Datum		vals[1] = {tenant};

	run_query("SELECT slug FROM commitopt.tenants WHERE tenant_id = $1",
			  1, types, vals);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant %s does not exist",
						DatumGetCString(DirectFunctionCall1(uuid_out, tenant)))));
	return col_text(0, 1);
}

/*
 * simsql_check_window fails unless [start, end) is a non-empty span of
 * whole UTC hours of reasonable length.
 */
void
simsql_check_window(TimestampTz start, TimestampTz end)
{
	if (TIMESTAMP_NOT_FINITE(start) || start % USECS_PER_HOUR != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window start %s is not a whole UTC hour",
						timestamptz_to_str(start)),
				 errhint("Simulation windows are made of whole hours.")));
	if (TIMESTAMP_NOT_FINITE(end) || end % USECS_PER_HOUR != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window end %s is not a whole UTC hour",
						timestamptz_to_str(end)),
				 errhint("Simulation windows are made of whole hours.")));
	if (end <= start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window end %s is not after window start %s",
						pstrdup(timestamptz_to_str(end)),
						pstrdup(timestamptz_to_str(start)))));
	if ((end - start) / USECS_PER_HOUR > SIM_MAX_HOURS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("window of %lld hours is too long",
						(long long) ((end - start) / USECS_PER_HOUR)),
				 errdetail("At most %d hours are simulated at once.",
						   SIM_MAX_HOURS)));
}

/*
 * simsql_usage_extent returns the tenant's span of known usage, failing
 * when there is none.
 */
void
simsql_usage_extent(Datum tenant, const char *slug, TimestampTz *from,
					TimestampTz *to)
{
	Oid			types[1] = {UUIDOID};
	Datum		vals[1] = {tenant};
	bool		n1,
				n2;
	Datum		d1,
				d2;

	run_query("SELECT extent_from, extent_to FROM commitopt.usage_extent($1)",
			  1, types, vals);
	d1 = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &n1);
	d2 = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &n2);
	if (n1 || n2)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("tenant \"%s\" has no usage", slug),
				 errdetail("commitopt.usage_coverage has no span for the tenant."),
				 errhint("Import usage first, or pass the window explicitly.")));
	*from = DatumGetTimestampTz(d1);
	*to = DatumGetTimestampTz(d2);
}

/*
 * load_accounts reads the tenant's accounts in ascending account id and
 * numbers them in that order.
 */
static void
load_accounts(SimLoad *ld, Datum tenant, HTAB *names)
{
	Oid			types[1] = {UUIDOID};
	Datum		vals[1] = {tenant};
	bool	   *sharing;
	int			counter = 0;
	uint64		i;

	run_query("SELECT account_id, sharing_enabled FROM commitopt.aws_accounts"
			  " WHERE tenant_id = $1 ORDER BY account_id::numeric, account_id",
			  1, types, vals);
	sharing = palloc0(sizeof(bool) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		intern(names, 'a', col_text(i, 1), &counter);
		sharing[i] = col_bool(i, 2);
	}
	ld->in.naccounts = counter;
	ld->in.sharing = sharing;
}

/*
 * slice_of numbers the (account, region, family) slice of daily results.
 */
static int
slice_of(SimLoad *ld, HTAB *names, const char *account, const char *region,
		 const char *family, int *cap)
{
	char	   *key = psprintf("%s\x1f%s\x1f%s", account, region, family);
	int			n = ld->in.nslices;
	int			id = intern(names, 's', key, &ld->in.nslices);

	if (id == n)
	{
		if (n == *cap)
		{
			*cap = *cap * 2 + 16;
			ld->slice_account = ld->slice_account ?
				repalloc(ld->slice_account, sizeof(char *) * *cap) :
				palloc(sizeof(char *) * *cap);
			ld->slice_region = ld->slice_region ?
				repalloc(ld->slice_region, sizeof(char *) * *cap) :
				palloc(sizeof(char *) * *cap);
			ld->slice_family = ld->slice_family ?
				repalloc(ld->slice_family, sizeof(char *) * *cap) :
				palloc(sizeof(char *) * *cap);
		}
		ld->slice_account[n] = pstrdup(account);
		ld->slice_region[n] = pstrdup(region);
		ld->slice_family[n] = pstrdup(family);
	}
	return id;
}

/*
 * series_index finds a series by id (series are loaded in id order).
 */
static int
series_index(const SimLoad *ld, int64 id)
{
	int			lo = 0,
				hi = ld->in.nseries - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (ld->series_ids[mid] == id)
			return mid;
		if (ld->series_ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * load_series reads the tenant's usage series with their list on-demand
 * rate and normalization factor.
 */
static SimSeries *
load_series(SimLoad *ld, Datum tenant, HTAB *names, int *ctr, int *slice_cap)
{
	Oid			types[1] = {UUIDOID};
	Datum		vals[1] = {tenant};
	SimSeries  *series;
	uint64		i;

	run_query("SELECT s.series_id, s.account_id, s.region, s.availability_zone,"
			  "       s.instance_type, s.platform, s.tenancy,"
			  "       commitopt.instance_family(s.instance_type),"
			  "       coalesce(commitopt.normalization_factor(s.instance_type), 0),"
			  "       o.hourly_usd::float8"
			  "  FROM commitopt.usage_series s"
			  "  LEFT JOIN commitopt.od_rates o"
			  "    USING (region, instance_type, platform, tenancy)"
			  " WHERE s.tenant_id = $1 ORDER BY s.series_id",
			  1, types, vals);
	ld->in.nseries = SPI_processed;
	series = palloc0(sizeof(SimSeries) * (SPI_processed + 1));
	ld->series_ids = palloc0(sizeof(int64) * (SPI_processed + 1));
	ld->series_labels = palloc0(sizeof(char *) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		SimSeries  *s = &series[i];
		char	   *account = col_text(i, 2);
		char	   *region = col_text(i, 3);
		char	   *az = col_text(i, 4);
		char	   *family = col_text(i, 8);

		ld->series_ids[i] = col_int64(i, 1);
		ld->series_labels[i] = psprintf("%s %s %s in account %s, %s%s%s",
										col_text(i, 5), col_text(i, 6),
										col_text(i, 7), account, region,
										az[0] ? " " : "", az);
		s->account = lookup(names, 'a', account);
		s->region = intern(names, 'r', region, ctr);
		s->az = az[0] ? intern(names, 'z', az, ctr) : -1;
		s->itype = intern(names, 't', col_text(i, 5), ctr);
		s->platform = intern(names, 'p', col_text(i, 6), ctr);
		s->tenancy = intern(names, 'n', col_text(i, 7), ctr);
		s->family = intern(names, 'f', family, ctr);
		s->nu = col_float(i, 9);
		s->od_rate = col_float(i, 10);
		s->slice = slice_of(ld, names, account, region, family, slice_cap);
		if (s->account < 0)
			elog(ERROR, "usage series " INT64_FORMAT " has an unknown account",
				 ld->series_ids[i]);
	}
	return series;
}

/*
 * load_usage reads the stored months overlapping the window, checks every
 * amount, and attaches them to their series as segments.
 */
static void
load_usage(SimLoad *ld, SimSeries *series, Datum tenant)
{
	Oid			types[3] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		vals[3] = {tenant, TimestampTzGetDatum(ld->window_start),
	TimestampTzGetDatum(ld->window_end)};
	SimSegment *segs;
	uint64		i;

	run_query("SELECT series_id, period_start, amounts, od_rate::float8"
			  "  FROM commitopt.usage_hourly"
			  " WHERE tenant_id = $1 AND period_start < $3"
			  "   AND period_start > $2 - interval '32 days'"
			  " ORDER BY series_id, period_start",
			  3, types, vals);
	segs = palloc0(sizeof(SimSegment) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		int64		id = col_int64(i, 1);
		int			s = series_index(ld, id);
		bool		isnull;
		TimestampTz ps = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc,
														   2, &isnull));
		ArrayType  *arr = DatumGetArrayTypeP(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc,
														   3, &isnull));
		const double *a;
		int			n,
					j;

		if (s < 0)
			elog(ERROR, "usage of unknown series " INT64_FORMAT, id);
		if (ARR_ELEMTYPE(arr) != FLOAT8OID || ARR_NDIM(arr) != 1 ||
			ARR_HASNULL(arr))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("usage of %s for the month starting %s has null amounts",
							ld->series_labels[s], timestamptz_to_str(ps))));
		n = ARR_DIMS(arr)[0];
		/* no null bitmap (checked above), so the data follows the header */
		a = (const double *) ((const char *) arr + ARR_OVERHEAD_NONULLS(1));
		for (j = 0; j < n; j++)
			if (!(a[j] >= 0) || isinf(a[j]))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("usage of %s has invalid amount %g in hour %d of the month starting %s",
								ld->series_labels[s], a[j], j + 1,
								timestamptz_to_str(ps)),
						 errdetail("Instance-hours must be finite and not negative.")));
		segs[i].start = (ps - ld->window_start) / USECS_PER_HOUR;
		segs[i].nhours = n;
		segs[i].amounts = a;
		segs[i].od_rate = col_float(i, 4);
		if (series[s].nsegs == 0)
			series[s].segs = &segs[i];
		series[s].nsegs++;
	}
}

/*
 * hours_from converts a column of epoch seconds into hours relative to the
 * window start.
 */
static double
hours_from(const SimLoad *ld, int row, int col)
{
	double		epoch = col_float(row, col);
	double		ws = (double) ld->window_start / USECS_PER_SEC +
		(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * (double) SECS_PER_DAY;

	return (epoch - ws) / 3600.0;
}

/*
 * load_ris reads the RIs active in the window in allocation order.
 */
static void
load_ris(SimLoad *ld, Datum tenant, HTAB *names, int *ctr, int *slice_cap)
{
	Oid			types[3] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		vals[3] = {tenant, TimestampTzGetDatum(ld->window_start),
	TimestampTzGetDatum(ld->window_end)};
	SimRI	   *ris;
	uint64		i;

	run_query("SELECT r.ri_id, r.owner_account_id, r.region,"
			  "       coalesce(r.availability_zone, ''), r.instance_type,"
			  "       commitopt.instance_family(r.instance_type),"
			  "       r.platform, r.tenancy, r.instance_count::float8,"
			  "       CASE WHEN r.effective_hourly_usd BETWEEN 0 AND 10000"
			  "            THEN r.effective_hourly_usd::float8 END,"
			  "       extract(epoch FROM r.start_time)::float8,"
			  "       extract(epoch FROM r.end_time)::float8,"
			  "       coalesce(commitopt.normalization_factor(r.instance_type), 0),"
			  "       p.size_flexible AND r.tenancy = 'default'"
			  "       AND coalesce(f.size_flexible, true),"
			  "       r.effective_hourly_usd::text"
			  "  FROM commitopt.reserved_instances r"
			  "  JOIN commitopt.platforms p USING (platform)"
			  "  LEFT JOIN commitopt.instance_families f"
			  "    ON f.family = commitopt.instance_family(r.instance_type)"
			  " WHERE r.tenant_id = $1 AND r.start_time < $3 AND r.end_time > $2"
			  " ORDER BY r.owner_account_id::numeric, r.start_time, r.ri_id",
			  3, types, vals);
	ld->in.nris = SPI_processed;
	ris = palloc0(sizeof(SimRI) * (SPI_processed + 1));
	ld->ri_ids = palloc0(sizeof(char *) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		SimRI	   *r = &ris[i];
		char	   *owner = col_text(i, 2);
		char	   *region = col_text(i, 3);
		char	   *az = col_text(i, 4);
		char	   *family = col_text(i, 6);

		ld->ri_ids[i] = col_text(i, 1);
		r->owner = lookup(names, 'a', owner);
		r->region = intern(names, 'r', region, ctr);
		r->az = az[0] ? intern(names, 'z', az, ctr) : -1;
		r->itype = intern(names, 't', col_text(i, 5), ctr);
		r->family = intern(names, 'f', family, ctr);
		r->platform = intern(names, 'p', col_text(i, 7), ctr);
		r->tenancy = intern(names, 'n', col_text(i, 8), ctr);
		r->count = col_float(i, 9);
		r->hourly_cost = col_float(i, 10);
		if (!(r->count >= 1 && r->count <= SIM_MAX_RI_COUNT))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("reserved instance \"%s\" has an invalid instance count %.0f",
							ld->ri_ids[i], r->count),
					 errdetail("An instance count is between 1 and %d.",
							   SIM_MAX_RI_COUNT)));
		if (!(r->hourly_cost >= 0 && r->hourly_cost <= SIM_MAX_HOURLY_RATE))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("reserved instance \"%s\" has an invalid effective hourly cost %s",
							ld->ri_ids[i], col_shown(i, 15)),
					 errdetail("An hourly cost per instance is between 0 and %g USD.",
							   SIM_MAX_HOURLY_RATE)));
		r->start = hours_from(ld, i, 11);
		r->end = hours_from(ld, i, 12);
		r->nu = col_float(i, 13);
		/* without a factor an RI can only match its exact type */
		r->flexible = col_bool(i, 14) && r->nu > 0;
		r->slice = slice_of(ld, names, owner, region, family, slice_cap);
		if (r->owner < 0)
			elog(ERROR, "reserved instance \"%s\" has an unknown owner",
				 ld->ri_ids[i]);
	}
	ld->in.ris = ris;
}

/*
 * rate_table returns the index of a rate table, adding it if new.
 */
static int
rate_table(SimRateKey *keys, int *nkeys, const char *plan_type, int term,
		   const char *payment)
{
	int			k;

	for (k = 0; k < *nkeys; k++)
		if (strcmp(keys[k].plan_type, plan_type) == 0 &&
			keys[k].term_years == term &&
			strcmp(keys[k].payment_option, payment) == 0)
			return k;
	keys[k].plan_type = pstrdup(plan_type);
	keys[k].term_years = term;
	keys[k].payment_option = pstrdup(payment);
	(*nkeys)++;
	return k;
}

/*
 * load_sps reads the Savings Plans active in the window in attribution
 * order (end, id) and returns the rate tables they need (*nkeys of them,
 * with room for one more).
 */
static SimRateKey *
load_sps(SimLoad *ld, Datum tenant, HTAB *names, int *ctr, int *slice_cap,
		 int *nkeys)
{
	Oid			types[3] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		vals[3] = {tenant, TimestampTzGetDatum(ld->window_start),
	TimestampTzGetDatum(ld->window_end)};
	SimSP	   *sps;
	SimRateKey *keys;
	uint64		i;

	run_query("SELECT sp_id, owner_account_id, plan_type,"
			  "       coalesce(region, ''), coalesce(instance_family, ''),"
			  "       term_years::int8, payment_option,"
			  "       CASE WHEN hourly_commitment_usd BETWEEN 0.001 AND 10000000"
			  "            THEN hourly_commitment_usd::float8 END,"
			  "       extract(epoch FROM start_time)::float8,"
			  "       extract(epoch FROM end_time)::float8,"
			  "       hourly_commitment_usd::text"
			  "  FROM commitopt.savings_plans"
			  " WHERE tenant_id = $1 AND start_time < $3 AND end_time > $2"
			  " ORDER BY end_time, sp_id",
			  3, types, vals);
	ld->in.nsps = SPI_processed;
	sps = palloc0(sizeof(SimSP) * (SPI_processed + 1));
	ld->sp_ids = palloc0(sizeof(char *) * (SPI_processed + 1));
	/* one table per plan at most, plus one for a hypothetical plan */
	keys = palloc0(sizeof(SimRateKey) * (SPI_processed + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		SimSP	   *sp = &sps[i];
		char	   *owner = col_text(i, 2);
		char	   *plan_type = col_text(i, 3);
		char	   *region = col_text(i, 4);
		char	   *family = col_text(i, 5);

		ld->sp_ids[i] = col_text(i, 1);
		sp->owner = lookup(names, 'a', owner);
		sp->compute = strcmp(plan_type, "compute") == 0;
		sp->region = sp->compute ? -1 : intern(names, 'r', region, ctr);
		sp->family = sp->compute ? -1 : intern(names, 'f', family, ctr);
		sp->rate_table = rate_table(keys, nkeys, plan_type,
									(int) col_int64(i, 6),
									col_text(i, 7));
		sp->commitment = col_float(i, 8);
		if (!(sp->commitment >= SIM_MIN_SP_COMMITMENT &&
			  sp->commitment <= SIM_MAX_SP_COMMITMENT))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("savings plan \"%s\" has an invalid hourly commitment %s",
							ld->sp_ids[i], col_shown(i, 11)),
					 errdetail("An hourly commitment is between %g and %g USD.",
							   SIM_MIN_SP_COMMITMENT, SIM_MAX_SP_COMMITMENT)));
		sp->start = hours_from(ld, i, 9);
		sp->end = hours_from(ld, i, 10);
		sp->slice = slice_of(ld, names, owner,
							 sp->compute ? "*" : region,
							 sp->compute ? "*" : family, slice_cap);
		if (sp->owner < 0)
			elog(ERROR, "savings plan \"%s\" has an unknown owner",
				 ld->sp_ids[i]);
	}
	ld->in.sps = sps;
	return keys;
}

/*
 * load_rates fills every series' SP rate for each rate table, and the
 * fallback discount of each table.
 */
static void
load_rates(SimLoad *ld, SimSeries *series, Datum tenant,
		   const SimRateKey *keys, int nkeys)
{
	int			K = nkeys;
	double	   *rates = palloc(sizeof(double) * ((size_t) ld->in.nseries * K + 1));
	bool	   *est = palloc0(sizeof(bool) * ((size_t) ld->in.nseries * K + 1));
	double	   *fallback = palloc0(sizeof(double) * (K + 1));
	int			s,
				k;

	for (s = 0; s < ld->in.nseries * K; s++)
		rates[s] = NAN;
	for (k = 0; k < K; k++)
	{
		Oid			types[4] = {UUIDOID, TEXTOID, INT4OID, TEXTOID};
		Datum		vals[4] = {tenant, CStringGetTextDatum(keys[k].plan_type),
			Int32GetDatum(keys[k].term_years),
		CStringGetTextDatum(keys[k].payment_option)};
		uint64		i;

		run_query("SELECT s.series_id, r.hourly_usd::float8, r.is_estimate"
				  "  FROM commitopt.usage_series s"
				  "  JOIN commitopt.sp_rates r"
				  "    USING (region, instance_type, platform, tenancy)"
				  " WHERE s.tenant_id = $1 AND r.plan_type = $2"
				  "   AND r.term_years = $3 AND r.payment_option = $4",
				  4, types, vals);
		for (i = 0; i < SPI_processed; i++)
		{
			int			si = series_index(ld, col_int64(i, 1));

			if (si < 0)
				continue;
			rates[(size_t) si * K + k] = col_float(i, 2);
			est[(size_t) si * K + k] = col_bool(i, 3);
		}
		run_query("SELECT commitopt.sp_fallback_discount($2, $3)",
				  4, types, vals);
		fallback[k] = col_float(0, 1);
	}
	for (s = 0; s < ld->in.nseries; s++)
	{
		series[s].sp_rate = &rates[(size_t) s * K];
		series[s].sp_rate_estimated = &est[(size_t) s * K];
	}
	ld->in.nrate_tables = K;
	ld->in.fallback_discount = fallback;
}

/*
 * simsql_load fills ld with the tenant's inputs for the window; call it
 * between SPI_connect and SPI_finish.  extra, when given, names one more
 * rate table (for a hypothetical plan) whose index is returned; else -1.
 */
int
simsql_load(SimLoad *ld, Datum tenant, TimestampTz start, TimestampTz end,
			const SimRateKey *extra)
{
	HASHCTL		ctl;
	HTAB	   *names;
	SimSeries  *series;
	SimRateKey *keys;
	int			nkeys = 0;
	int			ctr = 0;
	int			slice_cap = 0;
	int			extra_table = -1;

	memset(ld, 0, sizeof(*ld));
	ld->window_start = start;
	ld->window_end = end;
	ld->in.nhours = (int) ((end - start) / USECS_PER_HOUR);
	ld->in.first_hour = start / USECS_PER_HOUR;
	ld->in.residual_table = -1;
	ld->in.alloc = sim_palloc;
	ld->in.release = sim_pfree;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = SIM_NAME_LEN;
	ctl.entrysize = sizeof(SimName);
	ctl.hcxt = CurrentMemoryContext;
	names = hash_create("commitopt simulation names", 256, &ctl,
						HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	load_accounts(ld, tenant, names);
	series = load_series(ld, tenant, names, &ctr, &slice_cap);
	load_usage(ld, series, tenant);
	load_ris(ld, tenant, names, &ctr, &slice_cap);
	keys = load_sps(ld, tenant, names, &ctr, &slice_cap, &nkeys);
	if (extra)
		extra_table = rate_table(keys, &nkeys, extra->plan_type,
								 extra->term_years, extra->payment_option);
	load_rates(ld, series, tenant, keys, nkeys);
	ld->in.series = series;
	return extra_table;
}

/*
 * simsql_totals sums the hourly results over the window.
 */
void
simsql_totals(const SimLoad *ld, const SimOutput *out, double *v)
{
	int			h,
				f;

	memset(v, 0, sizeof(double) * SIM_NFIELDS);
	for (h = 0; h < ld->in.nhours; h++)
		for (f = 0; f < SIM_NFIELDS; f++)
			v[f] += out->hourly[(size_t) h * SIM_NFIELDS + f];
}

/*
 * float_array builds a float8[] from n values taken every stride doubles.
 */
static Datum
float_array(const double *v, int n, int stride)
{
	Datum	   *d = palloc(sizeof(Datum) * (n + 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Float8GetDatum(v[(size_t) i * stride]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * text_array builds a text[] from C strings.
 */
static Datum
text_array(char **v, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * (n + 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

/* The measure columns of simulation_hourly and simulation_daily. */
#define SIM_MEASURES \
	"usage_hours, usage_nu, ode, ri_covered_hours, ri_covered_nu," \
	" ri_covered_ode, sp_covered_hours, sp_covered_nu, sp_covered_ode," \
	" od_cost, ri_cost, ri_unused_cost, sp_cost, sp_used," \
	" ri_purchased_hours, ri_used_hours, ri_purchased_nu, ri_used_nu"

/*
 * measure_unnests returns "unnest($from::float8[]), ..." for the 18
 * measures.  Set-returning functions in the select list run in lockstep
 * and stream their rows (ProjectSet); unnest(...) in FROM would first
 * materialize all of them in a tuplestore, spilling to disk beyond
 * work_mem.
 */
static char *
measure_unnests(int from)
{
	StringInfoData s;
	int			f;

	initStringInfo(&s);
	for (f = 0; f < SIM_NFIELDS; f++)
		appendStringInfo(&s, ", unnest($%d::float8[])", from + f);
	return s.data;
}

/*
 * store_hourly writes simulation_hourly with one statement.
 */
static void
store_hourly(const SimLoad *ld, const SimOutput *out, Datum tenant,
			 int64 run_id)
{
	Oid			types[3 + SIM_NFIELDS];
	Datum		vals[3 + SIM_NFIELDS];
	Datum	   *hours = palloc(sizeof(Datum) * (ld->in.nhours + 1));
	int			f,
				h;

	/* whole hours from the window start, as start + n * '1 hour' */
	for (h = 0; h < ld->in.nhours; h++)
		hours[h] = TimestampTzGetDatum(ld->window_start +
									   (TimestampTz) h * USECS_PER_HOUR);
	types[0] = UUIDOID;
	vals[0] = tenant;
	types[1] = INT8OID;
	vals[1] = Int64GetDatum(run_id);
	types[2] = TIMESTAMPTZARRAYOID;
	vals[2] = PointerGetDatum(construct_array(hours, ld->in.nhours,
											  TIMESTAMPTZOID,
											  sizeof(TimestampTz),
											  FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
	for (f = 0; f < SIM_NFIELDS; f++)
	{
		types[3 + f] = FLOAT8ARRAYOID;
		vals[3 + f] = float_array(out->hourly + f, ld->in.nhours, SIM_NFIELDS);
	}
	run_query(psprintf("INSERT INTO commitopt.simulation_hourly"
					   " (tenant_id, run_id, hour, " SIM_MEASURES ")"
					   " SELECT $1, $2, unnest($3::timestamptz[])%s",
					   measure_unnests(4)),
			  3 + SIM_NFIELDS, types, vals);
}

/*
 * store_daily writes simulation_daily with one statement.
 */
static void
store_daily(const SimLoad *ld, const SimOutput *out, Datum tenant,
			int64 run_id)
{
	int			n = out->ndaily;
	Oid			types[6 + SIM_NFIELDS];
	Datum		vals[6 + SIM_NFIELDS];
	Datum	   *days = palloc(sizeof(Datum) * (n + 1));
	char	  **acc = palloc(sizeof(char *) * (n + 1));
	char	  **reg = palloc(sizeof(char *) * (n + 1));
	char	  **fam = palloc(sizeof(char *) * (n + 1));
	int			i,
				f;

	for (i = 0; i < n; i++)
	{
		/* first_hour counts from 2000-01-01, so days are DateADT values */
		days[i] = DateADTGetDatum((DateADT) out->daily[i].day);
		acc[i] = ld->slice_account[out->daily[i].slice];
		reg[i] = ld->slice_region[out->daily[i].slice];
		fam[i] = ld->slice_family[out->daily[i].slice];
	}
	types[0] = UUIDOID;
	vals[0] = tenant;
	types[1] = INT8OID;
	vals[1] = Int64GetDatum(run_id);
	types[2] = DATEARRAYOID;
	vals[2] = PointerGetDatum(construct_array(days, n, DATEOID, sizeof(DateADT),
											  true, TYPALIGN_INT));
	types[3] = TEXTARRAYOID;
	vals[3] = text_array(acc, n);
	types[4] = TEXTARRAYOID;
	vals[4] = text_array(reg, n);
	types[5] = TEXTARRAYOID;
	vals[5] = text_array(fam, n);
	for (f = 0; f < SIM_NFIELDS; f++)
	{
		types[6 + f] = FLOAT8ARRAYOID;
		vals[6 + f] = float_array(out->daily[0].v + f, n,
								  sizeof(SimDailyRow) / sizeof(double));
	}
	run_query(psprintf("INSERT INTO commitopt.simulation_daily"
					   " (tenant_id, run_id, day, account_id, region, family, "
					   SIM_MEASURES ")"
					   " SELECT $1, $2, unnest($3::date[]), unnest($4::text[]),"
					   "        unnest($5::text[]), unnest($6::text[])%s",
					   measure_unnests(7)),
			  6 + SIM_NFIELDS, types, vals);
}

/*
 * store_commitments writes simulation_commitments with one statement;
 * RIs without a normalization factor get NULL NU figures (NaN in the
 * arrays, turned into NULL by the statement).
 */
static void
store_commitments(const SimLoad *ld, const SimOutput *out, Datum tenant,
				  int64 run_id)
{
	int			n = ld->in.nris + ld->in.nsps;
	char	  **kind = palloc(sizeof(char *) * (n + 1));
	char	  **ids = palloc(sizeof(char *) * (n + 1));
	double	   *v = palloc(sizeof(double) * 7 * (n + 1));
	Oid			types[11];
	Datum		vals[11];
	int			i,
				c;

	for (i = 0; i < n; i++)
	{
		bool		ri = i < ld->in.nris;
		const SimCommitmentTotals *t = ri ? &out->ri_totals[i]
			: &out->sp_totals[i - ld->in.nris];
		bool		has_nu = ri && ld->in.ris[i].nu > 0;

		kind[i] = ri ? "ri" : "sp";
		ids[i] = ri ? ld->ri_ids[i] : ld->sp_ids[i - ld->in.nris];
		v[i * 7 + 0] = t->purchased;
		v[i * 7 + 1] = t->used;
		v[i * 7 + 2] = has_nu ? t->purchased_nu : NAN;
		v[i * 7 + 3] = has_nu ? t->used_nu : NAN;
		v[i * 7 + 4] = t->cost;
		v[i * 7 + 5] = t->unused_cost;
		v[i * 7 + 6] = t->covered_ode;
	}
	types[0] = UUIDOID;
	vals[0] = tenant;
	types[1] = INT8OID;
	vals[1] = Int64GetDatum(run_id);
	types[2] = TEXTARRAYOID;
	vals[2] = text_array(kind, n);
	types[3] = TEXTARRAYOID;
	vals[3] = text_array(ids, n);
	for (c = 0; c < 7; c++)
	{
		types[4 + c] = FLOAT8ARRAYOID;
		vals[4 + c] = float_array(v + c, n, 7);
	}
	run_query("INSERT INTO commitopt.simulation_commitments"
			  " (tenant_id, run_id, commitment_type, commitment_id, purchased,"
			  "  used, purchased_nu, used_nu, cost, unused_cost, covered_ode)"
			  " SELECT $1, $2, u.k, u.i, u.p, u.u, nullif(u.pn, 'NaN'),"
			  "        nullif(u.un, 'NaN'), u.c, u.uc, u.o"
			  "   FROM unnest($3::text[], $4::text[], $5::float8[],"
			  "               $6::float8[], $7::float8[], $8::float8[],"
			  "               $9::float8[], $10::float8[], $11::float8[])"
			  "     AS u(k, i, p, u, pn, un, c, uc, o)",
			  11, types, vals);
}

/*
 * elapsed_ms returns the milliseconds from a to b.
 */
static double
elapsed_ms(instr_time a, instr_time b)
{
	INSTR_TIME_SUBTRACT(b, a);
	return INSTR_TIME_GET_MILLISEC(b);
}

/*
 * commitopt_simulate(tenant, window_start, window_end) simulates the
 * tenant's window (by default its usage extent), replaces an earlier run
 * of the same window and returns the new run_id.
 */
Datum
commitopt_simulate(PG_FUNCTION_ARGS)
{
	Datum		tenant;
	char	   *slug;
	TimestampTz start = 0,
				end = 0;
	SimLoad		ld;
	SimOutput	out;
	int64		run_id;
	Oid			types[4] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID, BOOLOID};
	Datum		vals[4];
	instr_time	t0,
				t1,
				t2,
				t3,
				t4,
				t5,
				t6;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant must not be null")));
	tenant = PG_GETARG_DATUM(0);

	SPI_connect();
	slug = simsql_check_tenant(tenant);
	/* one simulation or import of the tenant at a time (replaces runs) */
	run_query("SELECT commitopt.lock_tenant($1)", 1, types, &tenant);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		simsql_usage_extent(tenant, slug, &start, &end);
	if (!PG_ARGISNULL(1))
		start = PG_GETARG_TIMESTAMPTZ(1);
	if (!PG_ARGISNULL(2))
		end = PG_GETARG_TIMESTAMPTZ(2);
	simsql_check_window(start, end);

	INSTR_TIME_SET_CURRENT(t0);
	simsql_load(&ld, tenant, start, end, NULL);
	INSTR_TIME_SET_CURRENT(t1);
	sim_run(&ld.in, &out);
	INSTR_TIME_SET_CURRENT(t2);

	vals[0] = tenant;
	vals[1] = TimestampTzGetDatum(start);
	vals[2] = TimestampTzGetDatum(end);
	vals[3] = BoolGetDatum(out.estimated_rates);
	run_query("DELETE FROM commitopt.simulation_runs"
			  " WHERE tenant_id = $1 AND window_start = $2 AND window_end = $3",
			  3, types, vals);
	INSTR_TIME_SET_CURRENT(t3);
	run_query("INSERT INTO commitopt.simulation_runs"
			  " (tenant_id, window_start, window_end, estimated_sp_rates)"
			  " VALUES ($1, $2, $3, $4) RETURNING run_id",
			  4, types, vals);
	run_id = col_int64(0, 1);
	store_hourly(&ld, &out, tenant, run_id);
	INSTR_TIME_SET_CURRENT(t4);
	store_daily(&ld, &out, tenant, run_id);
	INSTR_TIME_SET_CURRENT(t5);
	store_commitments(&ld, &out, tenant, run_id);
	INSTR_TIME_SET_CURRENT(t6);
	SPI_finish();

	/* where the time goes, for tuning (log_min_messages = debug1) */
	elog(DEBUG1, "simulate: load %.1f ms, engine %.1f ms, delete %.1f ms,"
		 " hourly %.1f ms (%d rows), daily %.1f ms (%d rows),"
		 " commitments %.1f ms",
		 elapsed_ms(t0, t1), elapsed_ms(t1, t2), elapsed_ms(t2, t3),
		 elapsed_ms(t3, t4), ld.in.nhours, elapsed_ms(t4, t5), out.ndaily,
		 elapsed_ms(t5, t6));

	PG_RETURN_INT64(run_id);
}

/*
 * commitopt_simulate_with_extra_compute_sp(tenant, window_start,
 * window_end, hourly_commitment, term_years) simulates the window with one
 * more Compute Savings Plan (no upfront, owned by no usage account,
 * sharing on, running the whole window), stores nothing and returns one
 * row: ODE, amortized cost and net savings over the window.
 */
Datum
commitopt_simulate_with_extra_compute_sp(PG_FUNCTION_ARGS)
{
	Datum		tenant;
	TimestampTz start,
				end;
	double		commitment;
	int			term;
	SimLoad		ld;
	SimOutput	out;
	SimSP		extra;
	SimRateKey	key;
	double		tot[SIM_NFIELDS];
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	double		amortized;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) ||
		PG_ARGISNULL(3) || PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments of simulate_with_extra_compute_sp must not be null")));
	tenant = PG_GETARG_DATUM(0);
	start = PG_GETARG_TIMESTAMPTZ(1);
	end = PG_GETARG_TIMESTAMPTZ(2);
	commitment = PG_GETARG_FLOAT8(3);
	term = PG_GETARG_INT32(4);
	if (!(commitment == 0 || (commitment >= SIM_MIN_SP_COMMITMENT &&
							  commitment <= SIM_MAX_SP_COMMITMENT)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hourly commitment %g is invalid", commitment),
				 errdetail("The commitment must be 0 (none) or between %g and %g USD per hour.",
						   SIM_MIN_SP_COMMITMENT, SIM_MAX_SP_COMMITMENT)));
	if (term != 1 && term != 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("term of %d years is not offered", term),
				 errdetail("Savings Plans run for 1 or 3 years.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SPI_connect();
	simsql_check_tenant(tenant);
	simsql_check_window(start, end);
	key.plan_type = "compute";
	key.term_years = term;
	key.payment_option = "no_upfront";
	memset(&extra, 0, sizeof(extra));
	extra.rate_table = simsql_load(&ld, tenant, start, end, &key);
	extra.owner = -1;
	extra.compute = true;
	extra.region = extra.family = -1;
	extra.slice = -1;
	extra.commitment = commitment;
	extra.start = 0;
	extra.end = ld.in.nhours;
	if (commitment > 0)
		ld.in.extra = &extra;
	sim_run(&ld.in, &out);
	simsql_totals(&ld, &out, tot);
	SPI_finish();

	amortized = tot[SF_OD_COST] + tot[SF_RI_COST] + tot[SF_SP_COST];
	values[0] = Float8GetDatum(tot[SF_ODE]);
	values[1] = Float8GetDatum(amortized);
	values[2] = Float8GetDatum(tot[SF_ODE] - amortized);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
