/*-------------------------------------------------------------------------
 *
 * simulate_sql.h
 *	  Loading a tenant's simulation inputs with SPI; shared by the
 *	  simulation and recommendation entry points.
 *
 * extension/simulate_sql.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef SIMULATE_SQL_H
#define SIMULATE_SQL_H

#include "postgres.h"

#include "utils/timestamp.h"

#include "simulator.h"

/* A rate table: the Savings Plan rates of one plan type, term, payment. */
typedef struct SimRateKey
{
	const char *plan_type;
	int			term_years;
	const char *payment_option;
} SimRateKey;

/* The engine's input plus what is needed to name its results. */
typedef struct SimLoad
{
	SimInput	in;
	TimestampTz window_start;
	TimestampTz window_end;
	int64	   *series_ids;
	char	  **series_labels;	/* for messages */
	char	  **ri_ids;
	char	  **sp_ids;
	char	  **slice_account;
	char	  **slice_region;
	char	  **slice_family;
} SimLoad;

extern char *simsql_check_tenant(Datum tenant);
extern void simsql_check_window(TimestampTz start, TimestampTz end);
extern void simsql_usage_extent(Datum tenant, const char *slug,
								TimestampTz *from, TimestampTz *to);
extern int	simsql_load(SimLoad *ld, Datum tenant, TimestampTz start,
						TimestampTz end, const SimRateKey *extra);
extern void simsql_totals(const SimLoad *ld, const SimOutput *out,
						  double *v);

#endif							/* SIMULATE_SQL_H */
