/*-------------------------------------------------------------------------
 *
 * audit_settings.c
 *	  Settings of the audit log.
 *
 * The audit log itself is SQL (extension/sql/89_audit_contract.sql); C is
 * only needed to define its setting, so that the retention floor is
 * enforced by the server whichever way the value is set (postgresql.conf,
 * ALTER SYSTEM, SET).
 *
 * extension/audit_settings.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "commitopt.h"

/*
 * Audit entries must be kept at least a year: compliance frameworks ask
 * for twelve months of trail, and a shorter setting would let the worker
 * drop evidence that is still needed.
 */
#define AUDIT_RETENTION_MIN_DAYS 365
#define AUDIT_RETENTION_MAX_DAYS 36500

static int	audit_retention_days = 400;

/*
 * check_audit_retention_days refuses a retention below the floor with a
 * detail saying why, rather than a bare range error.
 */
static bool
check_audit_retention_days(int *newval, void **extra, GucSource source)
{
	if (*newval < AUDIT_RETENTION_MIN_DAYS)
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("Audit entries must be kept for at least %d days.",
							AUDIT_RETENTION_MIN_DAYS);
		return false;
	}
	return true;
}

/*
 * define_audit_settings registers commitopt.audit_retention_days; called
 * from _PG_init.
 */
void
define_audit_settings(void)
{
	DefineCustomIntVariable("commitopt.audit_retention_days",
							"Days an audit entry is kept before its monthly partition may be dropped.",
							"commitopt.audit_retention() drops a partition once its whole month is older than this. "
							"At least 365.",
							&audit_retention_days,
							400,
							1, AUDIT_RETENTION_MAX_DAYS,
							PGC_SUSET,
							0,
							check_audit_retention_days, NULL, NULL);
}
