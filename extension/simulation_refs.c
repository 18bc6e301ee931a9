/*-------------------------------------------------------------------------
 *
 * simulation_refs.c
 *	  The reference from simulation_hourly and simulation_daily rows to
 *	  their run, checked once per run and command instead of once per row.
 *
 * commitopt.simulate() writes thousands of hourly and daily rows of one
 * run in a single statement.  A declared foreign key would look the run up
 * and lock it again for every one of them, which cost more than writing
 * the rows.  This trigger makes the same check (the run exists, and it is
 * locked FOR KEY SHARE so that no concurrent transaction deletes it before
 * this one ends, as a foreign key locks it) for the first row of a run in
 * each command, and trusts it for the next rows of that run in the same
 * command: nothing can delete the run in between, since the lock keeps
 * other transactions out and this transaction would need another command.
 * The deletion side (ON DELETE CASCADE) is a statement trigger on
 * simulation_runs, see 42_simulation_run_refs.sql.
 *
 * extension/simulation_refs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(commitopt_check_simulation_run);

/* The last run found, and the command in which it was found. */
static struct
{
	bool		valid;
	LocalTransactionId lxid;
	CommandId	cid;
	pg_uuid_t	tenant;
	int64		run_id;
} last_checked;

/*
 * column_of returns the attribute number of a column the trigger needs.
 */
static int
column_of(Relation rel, const char *name)
{
	int			col = SPI_fnumber(RelationGetDescr(rel), name);

	if (col <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("table \"%s\" has no column \"%s\"",
						RelationGetRelationName(rel), name),
				 errdetail("check_simulation_run() needs tenant_id and run_id.")));
	return col;
}

/*
 * commitopt_check_simulation_run is a BEFORE INSERT OR UPDATE row trigger:
 * it fails with foreign_key_violation unless the row's (tenant_id, run_id)
 * names a run of commitopt.simulation_runs the current user can see.
 * A null key is not checked (MATCH SIMPLE; the columns are NOT NULL).
 */
Datum
commitopt_check_simulation_run(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	TupleDesc	desc;
	Datum		tenant,
				run;
	bool		tenant_null,
				run_null;
	Oid			types[2] = {UUIDOID, INT8OID};
	Datum		vals[2];
	int			rc;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("check_simulation_run() must be a BEFORE INSERT OR UPDATE row trigger")));

	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple
		: td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	tenant = heap_getattr(tuple, column_of(td->tg_relation, "tenant_id"),
						  desc, &tenant_null);
	run = heap_getattr(tuple, column_of(td->tg_relation, "run_id"),
					   desc, &run_null);
	if (tenant_null || run_null)
		return PointerGetDatum(tuple);

	if (last_checked.valid &&
		last_checked.lxid == MyProc->lxid &&
		last_checked.cid == GetCurrentCommandId(false) &&
		last_checked.run_id == DatumGetInt64(run) &&
		memcmp(&last_checked.tenant, DatumGetUUIDP(tenant),
			   sizeof(pg_uuid_t)) == 0)
		return PointerGetDatum(tuple);

	last_checked.valid = false;
	vals[0] = tenant;
	vals[1] = run;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT 1 FROM commitopt.simulation_runs"
							   " WHERE tenant_id = $1 AND run_id = $2"
							   " FOR KEY SHARE",
							   2, types, vals, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("simulation run " INT64_FORMAT " of tenant %s does not exist",
						DatumGetInt64(run),
						DatumGetCString(DirectFunctionCall1(uuid_out, tenant))),
				 errdetail("Rows of %s must belong to a run of commitopt.simulation_runs.",
						   RelationGetRelationName(td->tg_relation))));
	SPI_finish();

	/* the query advanced the command counter: remember the new command */
	last_checked.lxid = MyProc->lxid;
	last_checked.cid = GetCurrentCommandId(false);
	last_checked.run_id = DatumGetInt64(run);
	memcpy(&last_checked.tenant, DatumGetUUIDP(tenant), sizeof(pg_uuid_t));
	last_checked.valid = true;
	return PointerGetDatum(tuple);
}
