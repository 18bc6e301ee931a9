/*-------------------------------------------------------------------------
 *
 * commitopt.c
 *	  Module entry point of the commitopt extension.
 *
 * commitopt runs inside PostgreSQL: it imports AWS billing exports,
 * simulates hour by hour how AWS applies Reserved Instances and Savings
 * Plans, reports the outcome and recommends purchases.  Each concern lives
 * in its own file; this one only registers the module and its settings.
 *
 * The library must be in shared_preload_libraries so that the settings
 * exist (and are reserved) before any session uses them.
 *
 * extension/commitopt.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "commitopt.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Discounts assumed for Savings Plan rates that no price file gives and no
 * RI rate suggests (see commitopt.derive_sp_rates()).
 */
static double sp_estimate_discount_compute_1yr = 0.22;
static double sp_estimate_discount_compute_3yr = 0.45;
static double sp_estimate_discount_ec2_instance_1yr = 0.30;
static double sp_estimate_discount_ec2_instance_3yr = 0.52;

/*
 * define_sp_estimate_setting registers one of the fallback discounts above.
 */
static void
define_sp_estimate_setting(const char *name, const char *description,
						   double *variable, double boot_value)
{
	DefineCustomRealVariable(name, description,
							 "A fraction of the on-demand rate, from 0 to 0.99. "
							 "Used only where no Savings Plan or RI rate is known.",
							 variable, boot_value, 0.0, 0.99,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * _PG_init registers every setting of the extension under the prefix
 * "commitopt." and reserves the prefix, so a misspelt setting is an error
 * rather than a setting PostgreSQL silently accepts and ignores.
 */
void
_PG_init(void)
{
	define_sp_estimate_setting("commitopt.sp_estimate_discount_compute_1yr",
							   "Fallback discount of a 1-year Compute Savings Plan.",
							   &sp_estimate_discount_compute_1yr, 0.22);
	define_sp_estimate_setting("commitopt.sp_estimate_discount_compute_3yr",
							   "Fallback discount of a 3-year Compute Savings Plan.",
							   &sp_estimate_discount_compute_3yr, 0.45);
	define_sp_estimate_setting("commitopt.sp_estimate_discount_ec2_instance_1yr",
							   "Fallback discount of a 1-year EC2 Instance Savings Plan.",
							   &sp_estimate_discount_ec2_instance_1yr, 0.30);
	define_sp_estimate_setting("commitopt.sp_estimate_discount_ec2_instance_3yr",
							   "Fallback discount of a 3-year EC2 Instance Savings Plan.",
							   &sp_estimate_discount_ec2_instance_3yr, 0.52);
	define_password_settings();
	define_audit_settings();
	define_crypto_settings();
	define_aws_settings();
	define_jobs_settings();
	define_claim_settings();
	define_session_settings();
	define_session_worker();
	define_log_redaction();

	MarkGUCPrefixReserved("commitopt");
}
