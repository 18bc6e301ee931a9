/*-------------------------------------------------------------------------
 *
 * billing_import.c
 *	  Parse AWS billing exports (FOCUS 1.x, legacy CUR, CUR 2.0) into one
 *	  normalized line vocabulary.
 *
 * The two set-returning functions here read an export (a server file, or
 * the lines a client streamed into commitopt.billing_upload), recognize its
 * format from the header and return one commitopt.import_line per record.
 * They only parse and normalize: storing the lines, replacing billing
 * periods and deriving usage and commitments is SQL's job
 * (extension/sql/21_billing_import.sql), which inserts the whole result in
 * one statement, so a large export costs one pass and no per-line SPI call.
 *
 * Columns are matched by their full header name, never by a name with its
 * prefix removed: "lineItem/UsageType" and "product/usagetype" stay two
 * columns, and so do "savingsPlan/StartTime" and "reservation/StartTime".
 *
 * Every bad input is an error naming the physical line where its record
 * starts, and where it applies the column and the bad value.
 *
 * extension/billing_import.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "catalog/pg_authid.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "csv_reader.h"

PG_FUNCTION_INFO_V1(commitopt_parse_billing_file);
PG_FUNCTION_INFO_V1(commitopt_parse_billing_upload);
PG_FUNCTION_INFO_V1(commitopt_upload_session);
PG_FUNCTION_INFO_V1(commitopt_upload_session_is_live);

typedef enum ExportFormat
{
	FORMAT_FOCUS,
	FORMAT_CUR,
	FORMAT_CUR2,
	NUM_FORMATS
} ExportFormat;

static const char *const format_names[NUM_FORMATS] = {"focus", "cur", "cur2"};

/* The source columns the importer reads. */
typedef enum SourceField
{
	SF_CHARGE_TYPE,
	SF_BILLING_PERIOD,
	SF_USAGE_START,
	SF_USAGE_END,
	SF_ACCOUNT,
	SF_SERVICE,
	SF_REGION,
	SF_REGION_NAME,
	SF_AZ,
	SF_INSTANCE_TYPE,
	SF_USAGE_TYPE,
	SF_PRODUCT_USAGE_TYPE,
	SF_OPERATION,
	SF_OS,
	SF_LICENSE,
	SF_PREINSTALLED,
	SF_TENANCY,
	SF_USAGE_AMOUNT,
	SF_UNIT,
	SF_NORM_FACTOR,
	SF_UNBLENDED,
	SF_EFFECTIVE,
	SF_LIST_COST,
	SF_LIST_RATE,
	SF_DESCRIPTION,
	SF_TAGS,
	SF_PRICING_CATEGORY,
	SF_CHARGE_FREQUENCY,
	SF_CD_ID,
	SF_CD_TYPE,
	SF_CD_STATUS,
	SF_RI_ARN,
	SF_RI_EFFECTIVE,
	SF_RI_COUNT,
	SF_RI_START,
	SF_RI_END,
	SF_RI_UPFRONT_PERIOD,
	SF_RI_UNUSED_UPFRONT,
	SF_RI_UNUSED_RECURRING,
	SF_RI_OFFERING_CLASS,
	SF_RI_PURCHASE_OPTION,
	SF_RI_LEASE,
	SF_SP_ARN,
	SF_SP_EFFECTIVE,
	SF_SP_TOTAL,
	SF_SP_USED,
	SF_SP_START,
	SF_SP_END,
	SF_SP_TERM,
	SF_SP_PAYMENT,
	SF_SP_OFFERING,
	SF_SP_REGION,
	SF_SP_FAMILY,
	NUM_SOURCE_FIELDS
} SourceField;

typedef enum FieldKind
{
	KIND_TEXT,
	KIND_NUMBER,
	KIND_TIMESTAMP
} FieldKind;

#define REQ_FOCUS	(1 << FORMAT_FOCUS)
#define REQ_CUR		(1 << FORMAT_CUR)
#define REQ_CUR2	(1 << FORMAT_CUR2)

/* A source field's column name in each format (NULL: the format has none). */
typedef struct FieldSpec
{
	SourceField field;
	FieldKind	kind;
	int			required;		/* REQ_* bits */
	const char *names[NUM_FORMATS];
} FieldSpec;

static const FieldSpec field_specs[] = {
	{SF_CHARGE_TYPE, KIND_TEXT, REQ_FOCUS | REQ_CUR | REQ_CUR2,
	{"ChargeCategory", "lineItem/LineItemType", "line_item_line_item_type"}},
	{SF_BILLING_PERIOD, KIND_TIMESTAMP, 0,
	{"BillingPeriodStart", "bill/BillingPeriodStartDate", "bill_billing_period_start_date"}},
	{SF_USAGE_START, KIND_TIMESTAMP, REQ_FOCUS,
	{"ChargePeriodStart", "lineItem/UsageStartDate", "line_item_usage_start_date"}},
	{SF_USAGE_END, KIND_TIMESTAMP, 0,
	{"ChargePeriodEnd", "lineItem/UsageEndDate", "line_item_usage_end_date"}},
	{SF_ACCOUNT, KIND_TEXT, 0,
	{"SubAccountId", "lineItem/UsageAccountId", "line_item_usage_account_id"}},
	{SF_SERVICE, KIND_TEXT, 0,
	{"ServiceName", "lineItem/ProductCode", "line_item_product_code"}},
	{SF_REGION, KIND_TEXT, 0,
	{"RegionId", "product/regionCode", "product_region_code"}},
	{SF_REGION_NAME, KIND_TEXT, 0,
	{NULL, "product/region", "product_region"}},
	{SF_AZ, KIND_TEXT, 0,
	{"AvailabilityZone", "lineItem/AvailabilityZone", "line_item_availability_zone"}},
	{SF_INSTANCE_TYPE, KIND_TEXT, 0,
	{NULL, "product/instanceType", "product_instance_type"}},
	{SF_USAGE_TYPE, KIND_TEXT, 0,
	{NULL, "lineItem/UsageType", "line_item_usage_type"}},
	{SF_PRODUCT_USAGE_TYPE, KIND_TEXT, 0,
	{NULL, "product/usagetype", "product_usagetype"}},
	{SF_OPERATION, KIND_TEXT, 0,
	{NULL, "lineItem/Operation", "line_item_operation"}},
	/*
	 * XXX: CUR 2.0 puts most product attributes (operating system, tenancy,
	 * licence) in its "product" map column, which is not read yet; CUR 2.0
	 * platforms come from line_item_operation instead.
	 */
	{SF_OS, KIND_TEXT, 0,
	{NULL, "product/operatingSystem", "product_operating_system"}},
	{SF_LICENSE, KIND_TEXT, 0,
	{NULL, "product/licenseModel", "product_license_model"}},
	{SF_PREINSTALLED, KIND_TEXT, 0,
	{NULL, "product/preInstalledSw", "product_pre_installed_sw"}},
	{SF_TENANCY, KIND_TEXT, 0,
	{NULL, "product/tenancy", "product_tenancy"}},
	{SF_USAGE_AMOUNT, KIND_NUMBER, 0,
	{"ConsumedQuantity", "lineItem/UsageAmount", "line_item_usage_amount"}},
	{SF_UNIT, KIND_TEXT, 0,
	{"ConsumedUnit", "pricing/unit", "pricing_unit"}},
	{SF_NORM_FACTOR, KIND_NUMBER, 0,
	{NULL, "lineItem/NormalizationFactor", "line_item_normalization_factor"}},
	{SF_UNBLENDED, KIND_NUMBER, REQ_FOCUS | REQ_CUR | REQ_CUR2,
	{"BilledCost", "lineItem/UnblendedCost", "line_item_unblended_cost"}},
	{SF_EFFECTIVE, KIND_NUMBER, 0,
	{"EffectiveCost", NULL, NULL}},
	{SF_LIST_COST, KIND_NUMBER, 0,
	{"ListCost", "pricing/publicOnDemandCost", "pricing_public_on_demand_cost"}},
	{SF_LIST_RATE, KIND_NUMBER, 0,
	{"ListUnitPrice", "pricing/publicOnDemandRate", "pricing_public_on_demand_rate"}},
	{SF_DESCRIPTION, KIND_TEXT, 0,
	{"ChargeDescription", "lineItem/LineItemDescription", "line_item_line_item_description"}},
	{SF_TAGS, KIND_TEXT, 0,
	{"Tags", NULL, "resource_tags"}},
	{SF_PRICING_CATEGORY, KIND_TEXT, 0,
	{"PricingCategory", NULL, NULL}},
	{SF_CHARGE_FREQUENCY, KIND_TEXT, 0,
	{"ChargeFrequency", NULL, NULL}},
	{SF_CD_ID, KIND_TEXT, 0,
	{"CommitmentDiscountId", NULL, NULL}},
	{SF_CD_TYPE, KIND_TEXT, 0,
	{"CommitmentDiscountType", NULL, NULL}},
	{SF_CD_STATUS, KIND_TEXT, 0,
	{"CommitmentDiscountStatus", NULL, NULL}},
	{SF_RI_ARN, KIND_TEXT, 0,
	{NULL, "reservation/ReservationARN", "reservation_reservation_a_r_n"}},
	{SF_RI_EFFECTIVE, KIND_NUMBER, 0,
	{NULL, "reservation/EffectiveCost", "reservation_effective_cost"}},
	{SF_RI_COUNT, KIND_NUMBER, 0,
	{NULL, "reservation/NumberOfReservations", "reservation_number_of_reservations"}},
	{SF_RI_START, KIND_TIMESTAMP, 0,
	{NULL, "reservation/StartTime", "reservation_start_time"}},
	{SF_RI_END, KIND_TIMESTAMP, 0,
	{NULL, "reservation/EndTime", "reservation_end_time"}},
	{SF_RI_UPFRONT_PERIOD, KIND_NUMBER, 0,
	{NULL, "reservation/AmortizedUpfrontFeeForBillingPeriod",
	"reservation_amortized_upfront_fee_for_billing_period"}},
	{SF_RI_UNUSED_UPFRONT, KIND_NUMBER, 0,
	{NULL, "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
	"reservation_unused_amortized_upfront_fee_for_billing_period"}},
	{SF_RI_UNUSED_RECURRING, KIND_NUMBER, 0,
	{NULL, "reservation/UnusedRecurringFee", "reservation_unused_recurring_fee"}},
	{SF_RI_OFFERING_CLASS, KIND_TEXT, 0,
	{NULL, "pricing/OfferingClass", "pricing_offering_class"}},
	{SF_RI_PURCHASE_OPTION, KIND_TEXT, 0,
	{NULL, "pricing/PurchaseOption", "pricing_purchase_option"}},
	{SF_RI_LEASE, KIND_TEXT, 0,
	{NULL, "pricing/LeaseContractLength", "pricing_lease_contract_length"}},
	{SF_SP_ARN, KIND_TEXT, 0,
	{NULL, "savingsPlan/SavingsPlanARN", "savings_plan_savings_plan_a_r_n"}},
	{SF_SP_EFFECTIVE, KIND_NUMBER, 0,
	{NULL, "savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost"}},
	{SF_SP_TOTAL, KIND_NUMBER, 0,
	{NULL, "savingsPlan/TotalCommitmentToDate", "savings_plan_total_commitment_to_date"}},
	{SF_SP_USED, KIND_NUMBER, 0,
	{NULL, "savingsPlan/UsedCommitment", "savings_plan_used_commitment"}},
	{SF_SP_START, KIND_TIMESTAMP, 0,
	{NULL, "savingsPlan/StartTime", "savings_plan_start_time"}},
	{SF_SP_END, KIND_TIMESTAMP, 0,
	{NULL, "savingsPlan/EndTime", "savings_plan_end_time"}},
	{SF_SP_TERM, KIND_TEXT, 0,
	{NULL, "savingsPlan/PurchaseTerm", "savings_plan_purchase_term"}},
	{SF_SP_PAYMENT, KIND_TEXT, 0,
	{NULL, "savingsPlan/PaymentOption", "savings_plan_payment_option"}},
	{SF_SP_OFFERING, KIND_TEXT, 0,
	{NULL, "savingsPlan/OfferingType", "savings_plan_offering_type"}},
	{SF_SP_REGION, KIND_TEXT, 0,
	{NULL, "savingsPlan/Region", "savings_plan_region"}},
	{SF_SP_FAMILY, KIND_TEXT, 0,
	{NULL, "savingsPlan/InstanceTypeFamily", "savings_plan_instance_type_family"}},
};

/* Attributes of commitopt.import_line, in order. */
typedef enum OutAttr
{
	OA_LINE_NO,
	OA_FORMAT,
	OA_BILLING_PERIOD,
	OA_CHARGE_TYPE,
	OA_USAGE_START,
	OA_USAGE_END,
	OA_ACCOUNT,
	OA_SERVICE,
	OA_REGION,
	OA_AZ,
	OA_INSTANCE_TYPE,
	OA_PLATFORM,
	OA_TENANCY,
	OA_USAGE_TYPE,
	OA_USAGE_AMOUNT,
	OA_UNIT,
	OA_NORM_FACTOR,
	OA_UNBLENDED,
	OA_AMORTIZED,
	OA_PUBLIC_OD_COST,
	OA_OD_RATE,
	OA_COMMITMENT_TYPE,
	OA_COMMITMENT_ID,
	OA_DESCRIPTION,
	OA_TAGS,
	OA_PRICING_CATEGORY,
	OA_COMMITMENT_COUNT,
	OA_COMMITMENT_START,
	OA_COMMITMENT_END,
	OA_RI_UPFRONT_PERIOD,
	OA_SP_TOTAL_COMMITMENT,
	OA_TERM,
	OA_PAYMENT_OPTION,
	OA_OFFERING_CLASS,
	OA_SP_OFFERING_TYPE,
	OA_SP_REGION,
	OA_SP_FAMILY,
	NUM_OUT_ATTRS
} OutAttr;

/* A legacy CUR tag column: resourceTags/<key>. */
typedef struct TagColumn
{
	int			column;
	char	   *key;
} TagColumn;

/* Lines of one kind that an import reports with a NOTICE at its end. */
typedef struct LineTally
{
	int64		count;
	int64		first_line;
} LineTally;

/* Everything one parse needs. */
typedef struct ImportState
{
	CsvReader	reader;
	int			input_encoding; /* of the bytes fed */
	bool		verify_utf8;	/* check each line before parsing */
	bool		have_header;
	ExportFormat format;
	int			ncolumns;
	char	  **column_names;
	int			colmap[NUM_SOURCE_FIELDS];
	TagColumn  *tag_columns;
	int			ntag_columns;
	int64		nlines;			/* data records */
	int64		physical_lines; /* lines fed to the CSV parser so far */
	int64		raw_tag_lines;	/* lines whose tags were not a JSON object */

	/*
	 * The column without which no EC2 instance-hour line can be recognised
	 * (its expected header name), or NULL when the header has what it takes.
	 */
	const char *missing_usage_column;
	LineTally	hours_inferred; /* no unit, instance-hour usage type */
	LineTally	no_unit_not_usage;	/* EC2 usage, no unit, not instance-hours */
	LineTally	unrecognisable; /* usage in hours, missing_usage_column */

	/* numeric constants of the rate checks, made once per import */
	Datum		numeric_zero;
	Datum		od_rate_lowest;
	Datum		od_rate_highest;

	/* the record being converted */
	char	  **fields;
	size_t	   *lengths;
	int64		line_no;

	MemoryContext row_cxt;
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
} ImportState;

/* ---------------------------------------------------------------------
 * Values of the current record
 * ---------------------------------------------------------------------
 */

/*
 * field_text returns the current record's value of a source field, or NULL
 * when the file has no such column or the value is empty or "NULL".
 */
static const char *
field_text(ImportState *st, SourceField field)
{
	int			col = st->colmap[field];
	const char *v;

	if (col < 0 || st->lengths[col] == 0)
		return NULL;
	v = st->fields[col];
	if (strcmp(v, "NULL") == 0)
		return NULL;
	return v;
}

/*
 * expected_column_name is the header name a source field has in the
 * export's format (what a message names when the column is missing).
 */
static const char *
expected_column_name(ImportState *st, SourceField field)
{
	StaticAssertStmt(lengthof(field_specs) == NUM_SOURCE_FIELDS,
					 "field_specs must list every source field, in order");
	Assert(field_specs[field].field == field);
	return field_specs[field].names[st->format];
}

/*
 * column_name names a source field's column in the file, for messages.
 * Callers name only columns the file has; a missing one (colmap -1) is
 * named by its expected header name rather than read out of bounds.
 */
static const char *
column_name(ImportState *st, SourceField field)
{
	int			col = st->colmap[field];

	Assert(col >= 0);
	if (col < 0)
		return expected_column_name(st, field);
	return st->column_names[col];
}

/* tally_line counts a line of a kind reported at the end of the import. */
static void
tally_line(LineTally *tally, int64 line_no)
{
	if (tally->count++ == 0)
		tally->first_line = line_no;
}

/*
 * Sane bounds of every number an export carries (documented in
 * 21_billing_import.sql): anything at or beyond IMPORT_NUMBER_MAX in
 * absolute value, or non-zero below IMPORT_NUMBER_MIN, is no cost, rate or
 * amount of a real bill, and would overflow or underflow double precision
 * downstream.  A value longer than IMPORT_NUMBER_MAX_LEN characters is
 * refused before it is looked at.
 */
#define IMPORT_NUMBER_MAX		1e15
#define IMPORT_NUMBER_MIN		1e-30
#define IMPORT_NUMBER_MAX_LEN	100
#define IMPORT_VALUE_SHOWN		40

/* The largest reservation a line may describe (instances). */
#define IMPORT_MAX_RESERVATIONS 1000000

/*
 * shown returns a value for an error message: at most IMPORT_VALUE_SHOWN
 * characters of it, "..." marking a cut.
 */
static char *
shown(ImportState *st, const char *v)
{
	int			len = strlen(v);
	int			cut;

	if (len <= IMPORT_VALUE_SHOWN)
		return pstrdup(v);
	cut = pg_encoding_mbcliplen(st->input_encoding, v, len, IMPORT_VALUE_SHOWN);
	return psprintf("%.*s...", cut, v);
}

/*
 * number_syntax_ok checks s against [+-]digits[.digits][e[+-]digits];
 * *nonzero tells whether any digit of the mantissa is not 0.
 */
static bool
number_syntax_ok(const char *s, bool *nonzero)
{
	const char *p = s;
	int			digits = 0;

	*nonzero = false;
	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char) *p))
	{
		*nonzero |= (*p != '0');
		p++, digits++;
	}
	if (*p == '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
		{
			*nonzero |= (*p != '0');
			p++, digits++;
		}
	}
	if (digits == 0)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		int			edigits = 0;

		p++;
		if (*p == '+' || *p == '-')
			p++;
		while (isdigit((unsigned char) *p))
			p++, edigits++;
		if (edigits == 0)
			return false;
	}
	return *p == '\0';
}

/*
 * field_number parses a numeric source field; NULL (with *isnull set) when
 * absent.  A malformed value, or one outside the sane bounds, is an error
 * naming line, column and value.
 */
static Datum
field_number(ImportState *st, SourceField field, bool *isnull)
{
	const char *v = field_text(st, field);
	bool		nonzero;
	double		d;

	*isnull = (v == NULL);
	if (v == NULL)
		return (Datum) 0;
	if (strlen(v) > IMPORT_NUMBER_MAX_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("number \"%s\" in column \"%s\" at line %lld is too long",
						shown(st, v), column_name(st, field), (long long) st->line_no),
				 errdetail("A number may have at most %d characters.",
						   IMPORT_NUMBER_MAX_LEN)));
	if (!number_syntax_ok(v, &nonzero))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid number \"%s\" in column \"%s\" at line %lld",
						shown(st, v), column_name(st, field), (long long) st->line_no)));

	/* the syntax is checked, so strtod reads all of it (C locale) */
	d = fabs(strtod(v, NULL));
	if (!(d < IMPORT_NUMBER_MAX) || (nonzero && d < IMPORT_NUMBER_MIN))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("number \"%s\" in column \"%s\" at line %lld is out of range",
						shown(st, v), column_name(st, field), (long long) st->line_no),
				 errdetail("Numbers of a billing export must be 0 or between %g and %g in absolute value.",
						   IMPORT_NUMBER_MIN, IMPORT_NUMBER_MAX)));
	return DirectFunctionCall3(numeric_in, CStringGetDatum(v),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* read_digits reads between min and max decimal digits at *p. */
static bool
read_digits(const char **p, int min, int max, int *value)
{
	int			n = 0;

	*value = 0;
	while (n < max && isdigit((unsigned char) **p))
	{
		*value = *value * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n >= min;
}

/*
 * parse_timestamp accepts the timestamp shapes billing exports use:
 * "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS[.fff]]", the same with "T" and an
 * optional "Z" or +HH[:MM] offset, and the spreadsheet forms "M/D/YYYY"
 * and "M/D/YYYY H:MM[:SS]".  Times without a zone are UTC.  *date_only is
 * set when no time of day was given.
 */
static bool
parse_timestamp(const char *s, TimestampTz *result, bool *date_only)
{
	const char *p = s;
	struct pg_tm tm;
	int			year,
				month,
				day,
				hour = 0,
				minute = 0,
				second = 0;
	int			fraction_digits = 0;
	int64		usec = 0;
	int			offset = 0;		/* seconds east of UTC */
	Timestamp	ts;

	if (read_digits(&p, 4, 4, &year) && *p == '-')
	{
		p++;
		if (!read_digits(&p, 2, 2, &month) || *p++ != '-' ||
			!read_digits(&p, 2, 2, &day))
			return false;
	}
	else
	{
		p = s;
		if (!read_digits(&p, 1, 2, &month) || *p++ != '/' ||
			!read_digits(&p, 1, 2, &day) || *p++ != '/' ||
			!read_digits(&p, 4, 4, &year))
			return false;
		if (*p == ' ')
		{
			p++;
			if (!read_digits(&p, 1, 2, &hour) || *p++ != ':' ||
				!read_digits(&p, 2, 2, &minute))
				return false;
			if (*p == ':')
			{
				p++;
				if (!read_digits(&p, 2, 2, &second))
					return false;
			}
			if (*p != '\0')
				return false;
			*date_only = false;
			goto check;
		}
		if (*p != '\0')
			return false;
		*date_only = true;
		goto check;
	}

	*date_only = (*p == '\0');
	if (*p == ' ' || *p == 'T')
	{
		p++;
		if (!read_digits(&p, 2, 2, &hour) || *p++ != ':' ||
			!read_digits(&p, 2, 2, &minute))
			return false;
		if (*p == ':')
		{
			p++;
			if (!read_digits(&p, 2, 2, &second))
				return false;
			if (*p == '.')
			{
				p++;
				while (isdigit((unsigned char) *p))
				{
					if (fraction_digits < 6)
						usec = usec * 10 + (*p - '0');
					fraction_digits++;
					p++;
				}
				if (fraction_digits == 0)
					return false;
				for (int i = fraction_digits; i < 6; i++)
					usec *= 10;
			}
		}
		if (*p == 'Z')
			p++;
		else if (*p == '+' || *p == '-')
		{
			int			sign = (*p++ == '-') ? -1 : 1;
			int			oh,
						om = 0;

			if (!read_digits(&p, 2, 2, &oh))
				return false;
			if (*p == ':')
				p++;
			if (isdigit((unsigned char) *p) && !read_digits(&p, 2, 2, &om))
				return false;
			if (oh > 14 || om > 59)
				return false;
			offset = sign * (oh * 3600 + om * 60);
		}
	}
	if (*p != '\0')
		return false;

check:
	if (year < 1900 || year > 9999 || month < 1 || month > 12 || day < 1 ||
		day > day_tab[isleap(year)][month - 1] || hour > 23 || minute > 59 ||
		second > 59)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year;
	tm.tm_mon = month;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	if (tm2timestamp(&tm, (fsec_t) usec, NULL, &ts) != 0)
		return false;
	*result = ts - (int64) offset * USECS_PER_SEC;
	return true;
}

/*
 * field_timestamp parses a timestamp source field; NULL (with *isnull set)
 * when absent.  A malformed value is an error naming line, column and value.
 */
static TimestampTz
field_timestamp(ImportState *st, SourceField field, bool *isnull,
				bool *date_only)
{
	const char *v = field_text(st, field);
	TimestampTz ts = 0;
	bool		dummy;

	*isnull = (v == NULL);
	if (date_only == NULL)
		date_only = &dummy;
	*date_only = false;
	if (v == NULL)
		return 0;
	if (!parse_timestamp(v, &ts, date_only))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("invalid timestamp \"%s\" in column \"%s\" at line %lld",
						shown(st, v), column_name(st, field), (long long) st->line_no),
				 errhint("Accepted forms are YYYY-MM-DD HH:MM:SS, ISO 8601 (YYYY-MM-DDTHH:MM[:SS]Z or with an offset), YYYY-MM-DD, M/D/YYYY and M/D/YYYY H:MM.")));
	return ts;
}

/* text_datum makes a text Datum from bytes of the input's encoding. */
static Datum
text_datum(ImportState *st, const char *s)
{
	char	   *conv = pg_any_to_server(s, strlen(s), st->input_encoding);

	return PointerGetDatum(cstring_to_text(conv));
}

/* ---------------------------------------------------------------------
 * Instance type, platform and tenancy
 * ---------------------------------------------------------------------
 */

/* looks_like_instance_type: "family.size", lower-case letters, digits, '-'. */
static bool
looks_like_instance_type(const char *s, size_t len)
{
	bool		dot = false;

	if (len == 0 || len > 40 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '.')
		{
			if (dot)
				return false;
			dot = true;
		}
		else if (!(islower((unsigned char) c) || isdigit((unsigned char) c) ||
				   c == '-'))
			return false;
	}
	return dot;
}

/* looks_like_region: an AWS region code such as "us-east-1". */
static bool
looks_like_region(const char *s)
{
	size_t		len = strlen(s);

	if (len < 4 || len > 30 || !isdigit((unsigned char) s[len - 1]) ||
		strchr(s, '-') == NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i]) ||
			  s[i] == '-'))
			return false;
	return true;
}

/*
 * platform_from_os maps an operating-system phrase (as CUR's
 * product/operatingSystem or FOCUS's charge description word it) and the
 * pre-installed software onto a commitopt platform; NULL when unknown.
 */
static const char *
platform_from_os(const char *os, size_t oslen, const char *sw)
{
	static const struct
	{
		const char *os;
		const char *sw;
		const char *platform;
	}			map[] = {
		{"Linux", NULL, "linux"},
		{"Linux/UNIX", NULL, "linux"},
		{"Linux", "SQL Web", "linux_sql_web"},
		{"Linux", "SQL Std", "linux_sql_std"},
		{"Linux", "SQL Ent", "linux_sql_ent"},
		{"RHEL", NULL, "rhel"},
		{"SUSE", NULL, "suse"},
		{"Ubuntu Pro", NULL, "ubuntu_pro"},
		{"Windows", NULL, "windows"},
		{"Windows", "SQL Web", "windows_sql_web"},
		{"Windows", "SQL Std", "windows_sql_std"},
		{"Windows", "SQL Ent", "windows_sql_ent"},
	};

	if (sw != NULL && strcmp(sw, "NA") == 0)
		sw = NULL;
	for (size_t i = 0; i < lengthof(map); i++)
	{
		if (strlen(map[i].os) == oslen && strncmp(map[i].os, os, oslen) == 0 &&
			((sw == NULL && map[i].sw == NULL) ||
			 (sw != NULL && map[i].sw != NULL && strcmp(sw, map[i].sw) == 0)))
			return map[i].platform;
	}
	return NULL;
}

/*
 * platform_from_operation maps the EC2 RunInstances operation code (the
 * platform code AWS bills under) onto a commitopt platform.
 */
static const char *
platform_from_operation(const char *op)
{
	static const struct
	{
		const char *operation;
		const char *platform;
	}			map[] = {
		{"RunInstances", "linux"},
		{"RunInstances:0002", "windows"},
		{"RunInstances:0010", "rhel"},
		{"RunInstances:000g", "suse"},
		{"RunInstances:0g00", "ubuntu_pro"},
		{"RunInstances:0202", "windows_sql_web"},
		{"RunInstances:0006", "windows_sql_std"},
		{"RunInstances:0102", "windows_sql_ent"},
		{"RunInstances:0200", "linux_sql_web"},
		{"RunInstances:0004", "linux_sql_std"},
		{"RunInstances:0100", "linux_sql_ent"},
	};

	for (size_t i = 0; i < lengthof(map); i++)
		if (strcmp(op, map[i].operation) == 0)
			return map[i].platform;
	return NULL;
}

/* tenancy_from_product maps CUR's product/tenancy onto a commitopt tenancy. */
static const char *
tenancy_from_product(const char *t)
{
	if (strcmp(t, "Shared") == 0 || strcmp(t, "Default") == 0)
		return "default";
	if (strcmp(t, "Dedicated") == 0)
		return "dedicated";
	if (strcmp(t, "Host") == 0)
		return "host";
	return NULL;
}

/*
 * Facts read from an EC2 usage type such as "USE1-BoxUsage:m5.large":
 * the kind before the colon (region prefix dropped) names tenancy and
 * whether it is Spot; the part after it is the instance type.
 */
typedef struct UsageTypeFacts
{
	char	   *instance_type;
	const char *tenancy;
	bool		spot;
} UsageTypeFacts;

/* parse_usage_type fills *facts from an EC2 usage type; unknowns NULL. */
static void
parse_usage_type(const char *usage_type, UsageTypeFacts *facts)
{
	const char *colon = strchr(usage_type, ':');
	const char *kind = usage_type;
	size_t		kindlen;

	memset(facts, 0, sizeof(*facts));
	if (colon == NULL)
		return;
	for (const char *p = usage_type; p < colon; p++)
		if (*p == '-')
			kind = p + 1;
	kindlen = colon - kind;

#define KIND_IS(k) (kindlen == strlen(k) && strncmp(kind, k, kindlen) == 0)
	if (KIND_IS("BoxUsage"))
		facts->tenancy = "default";
	else if (KIND_IS("DedicatedUsage"))
		facts->tenancy = "dedicated";
	else if (KIND_IS("HostBoxUsage"))
		facts->tenancy = "host";
	else if (KIND_IS("SpotUsage"))
	{
		facts->tenancy = "default";
		facts->spot = true;
	}
	else if (!KIND_IS("HeavyUsage"))
		return;					/* not an instance usage type */
#undef KIND_IS

	if (looks_like_instance_type(colon + 1, strlen(colon + 1)))
		facts->instance_type = pstrdup(colon + 1);
}

/*
 * Instance facts read from a FOCUS 1.0 charge description, which is the
 * only place FOCUS 1.0 names them:
 *	 "$0.34 per On Demand Linux c5.2xlarge Instance Hour"
 *	 "$0.5 per Dedicated Usage Windows with SQL Std m5.large Instance Hour"
 *	 "m5.large Linux/UNIX Spot Instance-hour in US West (Oregon) in VPC ..."
 */
typedef struct DescriptionFacts
{
	char	   *instance_type;
	const char *platform;
	const char *tenancy;
	bool		spot;
} DescriptionFacts;

/* parse_focus_description fills *facts; unknowns stay NULL. */
static void
parse_focus_description(const char *desc, DescriptionFacts *facts)
{
	static const char *const suffix = " Instance Hour";
	static const char *const spot = " Spot Instance-hour";
	size_t		len = strlen(desc);
	const char *per = strstr(desc, " per ");
	const char *p;
	const char *end;
	const char *type;

	memset(facts, 0, sizeof(*facts));

	/* Spot: "<type> <OS> Spot Instance-hour ..." */
	if ((end = strstr(desc, spot)) != NULL)
	{
		const char *sp = strchr(desc, ' ');

		if (sp == NULL || sp >= end ||
			!looks_like_instance_type(desc, sp - desc))
			return;
		facts->instance_type = pnstrdup(desc, sp - desc);
		facts->platform = platform_from_os(sp + 1, end - (sp + 1), NULL);
		facts->tenancy = "default";
		facts->spot = true;
		return;
	}

	if (per == NULL || len < strlen(suffix) ||
		strcmp(desc + len - strlen(suffix), suffix) != 0)
		return;
	p = per + strlen(" per ");
	end = desc + len - strlen(suffix);
	if (strncmp(p, "On Demand ", 10) == 0)
	{
		facts->tenancy = "default";
		p += 10;
	}
	else if (strncmp(p, "Dedicated Usage ", 16) == 0)
	{
		facts->tenancy = "dedicated";
		p += 16;
	}
	else if (strncmp(p, "Dedicated ", 10) == 0)
	{
		facts->tenancy = "dedicated";
		p += 10;
	}
	else
		return;

	/* the last word before the suffix is the instance type */
	type = end;
	while (type > p && type[-1] != ' ')
		type--;
	if (type <= p || !looks_like_instance_type(type, end - type))
	{
		facts->tenancy = NULL;
		return;
	}
	facts->instance_type = pnstrdup(type, end - type);

	/* what remains is the OS, possibly "<OS> with SQL <edition>" */
	{
		size_t		oslen = (type - 1) - p;
		const char *with = NULL;

		for (const char *q = p; q + 10 <= type - 1; q++)
			if (strncmp(q, " with SQL ", 10) == 0)
			{
				with = q;
				break;
			}
		if (with != NULL)
		{
			char	   *sw = pnstrdup(with + 6, (type - 1) - (with + 6));

			facts->platform = platform_from_os(p, with - p, sw);
		}
		else
			facts->platform = platform_from_os(p, oslen, NULL);
	}
}

/* ---------------------------------------------------------------------
 * Tags
 * ---------------------------------------------------------------------
 */

/* push_string pushes a string key or value into a jsonb being built. */
static JsonbValue *
push_string(JsonbParseState **state, JsonbIteratorToken token,
			const char *s, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = len;
	return pushJsonbValue(state, token, &v);
}

/*
 * raw_tags keeps a Tags value that is not a JSON object under "_raw".
 * XXX: the spreadsheet-mangled FOCUS subset reduced Tags to one token; we
 * keep it rather than drop it, but it is no key/value tag.
 */
static Jsonb *
raw_tags(ImportState *st, const char *value)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	const char *b = value;
	const char *e = value + strlen(value);

	while (b < e && isspace((unsigned char) *b))
		b++;
	while (e > b && isspace((unsigned char) e[-1]))
		e--;
	st->raw_tag_lines++;
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_string(&state, WJB_KEY, "_raw", 4);
	push_string(&state, WJB_VALUE, b, e - b);
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * json_tags turns a JSON map of tags (FOCUS Tags, CUR 2.0 resource_tags)
 * into a jsonb object with bare keys: user-tag prefix removed ("user_" in
 * CUR 2.0, "user:" where a FOCUS export keeps AWS's prefix).  Two keys
 * that become equal are an error, never a silent overwrite.
 */
static Jsonb *
json_tags(ImportState *st, const char *value, const char *prefix)
{
	char	   *conv = pg_any_to_server(value, strlen(value), st->input_encoding);
	JsonLexContext *lex;
	Jsonb	   *in;
	Jsonb	   *out;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;
	JsonbParseState *state = NULL;
	int			npairs = 0;
	size_t		plen = strlen(prefix);

	lex = makeJsonLexContextCstringLen(conv, strlen(conv),
									   GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return raw_tags(st, conv);
	in = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(conv)));
	if (!JB_ROOT_IS_OBJECT(in))
		return raw_tags(st, conv);

	it = JsonbIteratorInit(&in->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			char	   *k = v.val.string.val;
			int			klen = v.val.string.len;

			if ((size_t) klen > plen && strncmp(k, prefix, plen) == 0)
			{
				k += plen;
				klen -= plen;
			}
			push_string(&state, WJB_KEY, k, klen);
			npairs++;
		}
		else if (tok == WJB_VALUE)
			res = pushJsonbValue(&state, tok, &v);
		else
			res = pushJsonbValue(&state, tok, NULL);
	}
	out = JsonbValueToJsonb(res);
	if ((int) JB_ROOT_COUNT(out) != npairs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("tag keys collide after removing the prefix \"%s\" at line %lld",
						prefix, (long long) st->line_no),
				 errdetail("The tags are %s.", conv)));
	return out;
}

/* column_tags collects legacy CUR resourceTags/<key> columns. */
static Jsonb *
column_tags(ImportState *st)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < st->ntag_columns; i++)
	{
		int			col = st->tag_columns[i].column;
		char	   *v;

		if (st->lengths[col] == 0)
			continue;
		v = pg_any_to_server(st->fields[col], st->lengths[col],
							 st->input_encoding);
		push_string(&state, WJB_KEY, st->tag_columns[i].key,
					strlen(st->tag_columns[i].key));
		push_string(&state, WJB_VALUE, v, strlen(v));
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* ---------------------------------------------------------------------
 * Header
 * ---------------------------------------------------------------------
 */

/* header_has reports whether the header has a column of that name. */
static bool
header_has(int nfields, char **fields, const char *name)
{
	for (int i = 0; i < nfields; i++)
		if (strcmp(fields[i], name) == 0)
			return true;
	return false;
}

/* header_has_prefix reports whether some column name starts with prefix. */
static bool
header_has_prefix(int nfields, char **fields, const char *prefix)
{
	for (int i = 0; i < nfields; i++)
		if (strncmp(fields[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/*
 * detect_format recognizes the export from its header: each format's
 * charge-type column first, then its naming style.
 */
static ExportFormat
detect_format(int nfields, char **fields)
{
	if (header_has(nfields, fields, "lineItem/LineItemType"))
		return FORMAT_CUR;
	if (header_has(nfields, fields, "line_item_line_item_type"))
		return FORMAT_CUR2;
	if (header_has(nfields, fields, "ChargeCategory"))
		return FORMAT_FOCUS;
	if (header_has_prefix(nfields, fields, "lineItem/") ||
		header_has_prefix(nfields, fields, "bill/"))
		return FORMAT_CUR;
	if (header_has_prefix(nfields, fields, "line_item_") ||
		header_has_prefix(nfields, fields, "bill_"))
		return FORMAT_CUR2;
	if (header_has(nfields, fields, "BilledCost") ||
		header_has(nfields, fields, "ChargePeriodStart") ||
		header_has(nfields, fields, "BillingPeriodStart"))
		return FORMAT_FOCUS;
	ereport(ERROR,
			(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
			 errmsg("unrecognized billing export format"),
			 errdetail("The header at line 1 has none of the columns of FOCUS (ChargeCategory), legacy CUR (lineItem/LineItemType) or CUR 2.0 (line_item_line_item_type).")));
	return FORMAT_FOCUS;		/* keep compiler quiet */
}

/* setup_header maps the source fields onto the header's columns. */
static void
setup_header(ImportState *st, int nfields, char **fields)
{
	MemoryContext old = MemoryContextSwitchTo(st->row_cxt->parent);

	st->format = detect_format(nfields, fields);
	st->ncolumns = nfields;
	st->column_names = palloc(nfields * sizeof(char *));
	st->tag_columns = palloc(nfields * sizeof(TagColumn));
	for (int i = 0; i < nfields; i++)
	{
		if (fields[i][0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("column %d of the header at line 1 has no name", i + 1)));
		for (int j = 0; j < i; j++)
			if (strcmp(fields[i], fields[j]) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
						 errmsg("column \"%s\" appears twice in the header",
								fields[i])));
		st->column_names[i] = pstrdup(fields[i]);

		/* legacy CUR tags: resourceTags/user:<key> is user tag <key> */
		if (st->format == FORMAT_CUR &&
			strncmp(fields[i], "resourceTags/", 13) == 0)
		{
			const char *key = fields[i] + 13;

			if (strncmp(key, "user:", 5) == 0 && key[5] != '\0')
				key += 5;
			for (int t = 0; t < st->ntag_columns; t++)
				if (strcmp(st->tag_columns[t].key, key) == 0)
					ereport(ERROR,
							(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
							 errmsg("columns \"%s\" and \"%s\" both name the tag \"%s\"",
									st->column_names[st->tag_columns[t].column],
									fields[i], key)));
			st->tag_columns[st->ntag_columns].column = i;
			st->tag_columns[st->ntag_columns].key =
				pg_any_to_server(key, strlen(key), st->input_encoding);
			st->ntag_columns++;
		}
	}

	for (int f = 0; f < NUM_SOURCE_FIELDS; f++)
		st->colmap[f] = -1;
	for (size_t s = 0; s < lengthof(field_specs); s++)
	{
		const FieldSpec *spec = &field_specs[s];
		const char *name = spec->names[st->format];

		if (name != NULL)
			for (int i = 0; i < nfields; i++)
				if (strcmp(fields[i], name) == 0)
					st->colmap[spec->field] = i;
		if ((spec->required & (1 << st->format)) && st->colmap[spec->field] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
					 errmsg("missing required column \"%s\" in %s billing export",
							name, format_names[st->format] /* focus/cur/cur2 */ )));
	}

	/*
	 * Without the service, no line is known to be EC2; FOCUS names the
	 * instance only in the charge description, CUR in the usage type or
	 * instance type.
	 */
	if (st->colmap[SF_SERVICE] < 0)
		st->missing_usage_column = expected_column_name(st, SF_SERVICE);
	else if (st->format == FORMAT_FOCUS && st->colmap[SF_DESCRIPTION] < 0)
		st->missing_usage_column = expected_column_name(st, SF_DESCRIPTION);
	else if (st->format != FORMAT_FOCUS && st->colmap[SF_USAGE_TYPE] < 0 &&
			 st->colmap[SF_PRODUCT_USAGE_TYPE] < 0 &&
			 st->colmap[SF_INSTANCE_TYPE] < 0)
		st->missing_usage_column = expected_column_name(st, SF_USAGE_TYPE);
	csv_reader_set_column_names(&st->reader, st->column_names, st->ncolumns);
	st->have_header = true;
	MemoryContextSwitchTo(old);
}

/* ---------------------------------------------------------------------
 * Lines
 * ---------------------------------------------------------------------
 */

/*
 * focus_charge_type maps a FOCUS charge onto the CUR line item types:
 *	 Usage, commitment Used:	 DiscountedUsage (RI) / SavingsPlanCoveredUsage
 *	 Usage, commitment Unused:	 RIFee (RI) / SavingsPlanRecurringFee (SP)
 *	 Usage otherwise:			 Usage
 *	 Purchase, RI:				 RIFee if recurring, else Fee (upfront)
 *	 Purchase, SP:				 SavingsPlanRecurringFee if recurring, else
 *								 SavingsPlanUpfrontFee
 *	 Purchase otherwise:		 Fee
 *	 Tax / Credit:				 Tax / Credit
 *	 Adjustment:				 Refund when it lowers the bill, else Fee
 */
static const char *
focus_charge_type(ImportState *st, const char *category, char ctype,
				  bool negative)
{
	const char *status = field_text(st, SF_CD_STATUS);
	const char *freq = field_text(st, SF_CHARGE_FREQUENCY);
	bool		recurring = (freq != NULL && strcmp(freq, "Recurring") == 0);

	if (strcmp(category, "Usage") == 0)
	{
		if (status != NULL && strcmp(status, "Used") == 0 && ctype != 0)
			return ctype == 'r' ? "DiscountedUsage" : "SavingsPlanCoveredUsage";
		if (status != NULL && strcmp(status, "Unused") == 0 && ctype != 0)
			return ctype == 'r' ? "RIFee" : "SavingsPlanRecurringFee";
		return "Usage";
	}
	if (strcmp(category, "Purchase") == 0)
	{
		if (ctype == 'r')
			return recurring ? "RIFee" : "Fee";
		if (ctype == 's')
			return recurring ? "SavingsPlanRecurringFee" : "SavingsPlanUpfrontFee";
		return "Fee";
	}
	if (strcmp(category, "Tax") == 0)
		return "Tax";
	if (strcmp(category, "Credit") == 0)
		return "Credit";
	if (strcmp(category, "Adjustment") == 0)
		return negative ? "Refund" : "Fee";
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("unknown charge category \"%s\" in column \"%s\" at line %lld",
					category, column_name(st, SF_CHARGE_TYPE),
					(long long) st->line_no),
			 errhint("FOCUS charge categories are Usage, Purchase, Tax, Credit and Adjustment.")));
	return NULL;				/* keep compiler quiet */
}

/* set_text stores an optional text attribute. */
static void
set_text(ImportState *st, Datum *values, bool *nulls, OutAttr a,
		 const char *s)
{
	nulls[a] = (s == NULL);
	if (s != NULL)
		values[a] = text_datum(st, s);
}

/* copy_number stores an optional numeric source field. */
static void
copy_number(ImportState *st, Datum *values, bool *nulls, OutAttr a,
			SourceField f)
{
	values[a] = field_number(st, f, &nulls[a]);
}

/* sum_known adds numerics; NULL only when all parts are NULL. */
static void
sum_known(Datum *result, bool *isnull, Datum a, bool anull, Datum b,
		  bool bnull)
{
	*isnull = anull && bnull;
	if (anull)
		*result = b;
	else if (bnull)
		*result = a;
	else
		*result = DirectFunctionCall2(numeric_add, a, b);
}

/* is_usage_charge: the CUR line item types that are usage (see SQL). */
static bool
is_usage_charge(const char *charge)
{
	return strcmp(charge, "Usage") == 0 ||
		strcmp(charge, "DiscountedUsage") == 0 ||
		strcmp(charge, "SavingsPlanCoveredUsage") == 0;
}

/*
 * check_identifiers refuses control characters in the columns that become
 * keys of usage series and commitments: such a value matches nothing and
 * would silently drop its line from the usage.
 */
static void
check_identifiers(ImportState *st)
{
	static const SourceField keys[] = {
		SF_ACCOUNT, SF_SERVICE, SF_REGION, SF_AZ, SF_INSTANCE_TYPE,
		SF_USAGE_TYPE, SF_PRODUCT_USAGE_TYPE, SF_OPERATION, SF_UNIT,
		SF_TENANCY, SF_RI_ARN, SF_SP_ARN, SF_CD_ID
	};

	for (size_t i = 0; i < lengthof(keys); i++)
	{
		const char *v = field_text(st, keys[i]);

		if (v == NULL)
			continue;
		for (const unsigned char *p = (const unsigned char *) v; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("control character 0x%02x in column \"%s\" at line %lld",
								*p, column_name(st, keys[i]),
								(long long) st->line_no),
						 errdetail("The value starts \"%s\".",
								   shown(st, pnstrdup(v, (const char *) p - v)))));
	}
}

/*
 * check_times refuses a line that ends before it starts, and a usage line
 * that lasts no time at all (its amount would belong to no hour).
 */
static void
check_times(ImportState *st, const char *charge, TimestampTz start,
			TimestampTz end)
{
	if (end < start)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("line %lld ends before it starts: column \"%s\" is \"%s\", column \"%s\" is \"%s\"",
						(long long) st->line_no,
						column_name(st, SF_USAGE_END), shown(st, field_text(st, SF_USAGE_END)),
						column_name(st, SF_USAGE_START), shown(st, field_text(st, SF_USAGE_START)))));
	if (end == start && is_usage_charge(charge))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("usage line %lld lasts no time: columns \"%s\" and \"%s\" are both \"%s\"",
						(long long) st->line_no, column_name(st, SF_USAGE_START),
						column_name(st, SF_USAGE_END),
						shown(st, field_text(st, SF_USAGE_START)))));
}

/*
 * require_usage_column refuses an EC2 instance-hour usage line of an
 * export without a column that such a line needs; the error names the
 * column as the header should (the file has no name for it).
 */
static void
require_usage_column(ImportState *st, SourceField field, const char *what)
{
	if (st->colmap[field] >= 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
			 errmsg("line %lld is EC2 instance usage but the export has no column \"%s\"",
					(long long) st->line_no, expected_column_name(st, field)),
			 errhint("Check the spelling of the %s column in the header.", what)));
}

/*
 * check_instance_usage refuses an EC2 instance-hour usage line that the
 * usage series could not count: no usage amount or account (column or
 * value), a negative amount, no instance type.  Such a line would
 * otherwise be dropped from the usage, or make every simulation of its
 * month fail.
 */
static void
check_instance_usage(ImportState *st, const char *instance_type,
					 Datum amount, bool amount_null)
{
	const char *account = field_text(st, SF_ACCOUNT);

	require_usage_column(st, SF_USAGE_AMOUNT, "usage amount");
	require_usage_column(st, SF_ACCOUNT, "usage account");
	if (amount_null)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("empty usage amount in column \"%s\" at line %lld",
						column_name(st, SF_USAGE_AMOUNT), (long long) st->line_no),
				 errdetail("The line is EC2 instance usage; its instance-hours must be given.")));
	if (DatumGetBool(DirectFunctionCall2(numeric_lt, amount,
										 DirectFunctionCall1(int4_numeric, Int32GetDatum(0)))))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("negative usage amount \"%s\" in column \"%s\" at line %lld",
						shown(st, field_text(st, SF_USAGE_AMOUNT)),
						column_name(st, SF_USAGE_AMOUNT), (long long) st->line_no),
				 errdetail("Instance-hours cannot be negative.")));
	if (account == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("empty account id in column \"%s\" at line %lld",
						column_name(st, SF_ACCOUNT), (long long) st->line_no),
				 errdetail("The line is EC2 instance usage; its usage belongs to an account.")));
	if (strspn(account, "0123456789") != strlen(account) || strlen(account) > 20)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid account id \"%s\" in column \"%s\" at line %lld",
						shown(st, account), column_name(st, SF_ACCOUNT),
						(long long) st->line_no),
				 errdetail("AWS account ids are up to 20 digits.")));
	if (instance_type == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("EC2 instance usage at line %lld names no instance type",
						(long long) st->line_no),
				 errdetail("Neither an instance type column nor the usage type gives one.")));
}

/*
 * derived_rate is the on-demand rate a usage line shows without a unit
 * price: its list cost over its amount (NULL, with *isnull set, when the
 * amount is not positive or the cost is negative: no rate is shown).
 */
static Datum
derived_rate(ImportState *st, Datum list_cost, Datum amount, bool *isnull)
{
	Datum		zero = st->numeric_zero;

	*isnull = !DatumGetBool(DirectFunctionCall2(numeric_gt, amount, zero)) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, list_cost, zero));
	if (*isnull)
		return (Datum) 0;
	/* numeric_div pads to 16 significant digits: 0.096 not 0.0960000... */
	return DirectFunctionCall1(numeric_trim_scale,
							   DirectFunctionCall2(numeric_div, list_cost, amount));
}

/*
 * check_od_rate refuses the on-demand rate of an instance-hour line that
 * no instance has (commitopt.usage_hourly keeps rates of 0 or between
 * IMPORT_OD_RATE_MIN and IMPORT_OD_RATE_MAX dollars an hour), naming the
 * column it came from, or the two it was derived from.
 */
#define IMPORT_OD_RATE_MIN		1e-9
#define IMPORT_OD_RATE_MAX		10000

static void
check_od_rate(ImportState *st, Datum rate, bool derived)
{
	/* compared as numeric, as the table's CHECK compares: no float rounding */
	int			vs_zero = DatumGetInt32(DirectFunctionCall2(numeric_cmp, rate,
															st->numeric_zero));
	double		r;

	if (vs_zero == 0 ||
		(vs_zero > 0 &&
		 DatumGetInt32(DirectFunctionCall2(numeric_cmp, rate, st->od_rate_lowest)) >= 0 &&
		 DatumGetInt32(DirectFunctionCall2(numeric_cmp, rate, st->od_rate_highest)) <= 0))
		return;
	r = DatumGetFloat8(DirectFunctionCall1(numeric_float8, rate));
	if (derived)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("on-demand rate %g at line %lld is out of range: column \"%s\" is \"%s\", column \"%s\" is \"%s\"",
						r, (long long) st->line_no,
						column_name(st, SF_LIST_COST), shown(st, field_text(st, SF_LIST_COST)),
						column_name(st, SF_USAGE_AMOUNT), shown(st, field_text(st, SF_USAGE_AMOUNT))),
				 errdetail("The line is EC2 instance usage without a unit price, so its rate is its list cost over its amount; an instance-hour costs 0 or between %g and %g dollars on demand.",
						   IMPORT_OD_RATE_MIN, (double) IMPORT_OD_RATE_MAX)));
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("on-demand rate \"%s\" in column \"%s\" at line %lld is out of range",
					shown(st, field_text(st, SF_LIST_RATE)),
					column_name(st, SF_LIST_RATE), (long long) st->line_no),
			 errdetail("The line is EC2 instance usage; an instance-hour costs 0 or between %g and %g dollars on demand.",
					   IMPORT_OD_RATE_MIN, (double) IMPORT_OD_RATE_MAX)));
}

/*
 * check_reservations refuses a number of reservations that is not a whole
 * number between 1 and IMPORT_MAX_RESERVATIONS.
 */
static void
check_reservations(ImportState *st, Datum n)
{
	Datum		one = DirectFunctionCall1(int4_numeric, Int32GetDatum(1));
	Datum		max = DirectFunctionCall1(int4_numeric,
										  Int32GetDatum(IMPORT_MAX_RESERVATIONS));
	Datum		whole = DirectFunctionCall2(numeric_trunc, n, Int32GetDatum(0));

	if (!DatumGetBool(DirectFunctionCall2(numeric_eq, n, whole)) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, n, one)) ||
		DatumGetBool(DirectFunctionCall2(numeric_gt, n, max)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid number of reservations \"%s\" in column \"%s\" at line %lld",
						shown(st, field_text(st, SF_RI_COUNT)),
						column_name(st, SF_RI_COUNT), (long long) st->line_no),
				 errdetail("A reservation covers a whole number of instances between 1 and %d.",
						   IMPORT_MAX_RESERVATIONS)));
}

/*
 * convert_record turns one data record into an import_line row and puts it
 * into the result.
 */
static void
convert_record(ImportState *st)
{
	Datum		values[NUM_OUT_ATTRS];
	bool		nulls[NUM_OUT_ATTRS];
	const char *charge = field_text(st, SF_CHARGE_TYPE);
	const char *description = field_text(st, SF_DESCRIPTION);
	const char *service = field_text(st, SF_SERVICE);
	const char *unit = field_text(st, SF_UNIT);
	const char *usage_type;
	const char *region;
	const char *instance_type = NULL;
	const char *platform = NULL;
	const char *tenancy = NULL;
	const char *pricing_category = NULL;
	const char *commitment_id = NULL;
	char		commitment_type = 0;	/* 'r' RI, 's' SP */
	bool		instance_line = false;	/* usage type names instance usage */
	bool		ec2_usage;		/* a usage charge of AmazonEC2 */
	bool		instance_hours; /* EC2 instance-hours (see below) */
	bool		rate_derived = false;	/* od_rate is list cost / amount */
	Datum		unblended;
	bool		unblended_null;
	bool		start_null,
				end_null,
				start_date_only,
				end_date_only;
	TimestampTz usage_start,
				usage_end;
	Jsonb	   *tags;

	memset(nulls, true, sizeof(nulls));

	if (charge == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("empty column \"%s\" at line %lld",
						column_name(st, SF_CHARGE_TYPE), (long long) st->line_no)));

	values[OA_LINE_NO] = Int32GetDatum((int32) st->line_no);
	nulls[OA_LINE_NO] = false;
	set_text(st, values, nulls, OA_FORMAT, format_names[st->format]);

	unblended = field_number(st, SF_UNBLENDED, &unblended_null);
	if (unblended_null)
		unblended = DirectFunctionCall3(numeric_in, CStringGetDatum("0"),
										ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1));
	values[OA_UNBLENDED] = unblended;
	nulls[OA_UNBLENDED] = false;

	/* times; a date-only end on the start's day means that whole day */
	values[OA_BILLING_PERIOD] = TimestampTzGetDatum(
		field_timestamp(st, SF_BILLING_PERIOD, &nulls[OA_BILLING_PERIOD], NULL));
	usage_start = field_timestamp(st, SF_USAGE_START, &start_null,
								  &start_date_only);
	usage_end = field_timestamp(st, SF_USAGE_END, &end_null, &end_date_only);
	if (!start_null && !end_null && end_date_only && usage_end <= usage_start)
		usage_end += USECS_PER_DAY;
	check_identifiers(st);
	nulls[OA_USAGE_START] = start_null;
	values[OA_USAGE_START] = TimestampTzGetDatum(usage_start);
	nulls[OA_USAGE_END] = end_null;
	values[OA_USAGE_END] = TimestampTzGetDatum(usage_end);

	/* commitment */
	if (st->format == FORMAT_FOCUS)
	{
		const char *ctype = field_text(st, SF_CD_TYPE);

		commitment_id = field_text(st, SF_CD_ID);
		if (ctype != NULL && strcmp(ctype, "Reserved Instance") == 0)
			commitment_type = 'r';
		else if (ctype != NULL && strcmp(ctype, "Savings Plan") == 0)
			commitment_type = 's';
		if (commitment_id == NULL)
			commitment_type = 0;
	}
	else if ((commitment_id = field_text(st, SF_RI_ARN)) != NULL)
		commitment_type = 'r';
	else if ((commitment_id = field_text(st, SF_SP_ARN)) != NULL)
		commitment_type = 's';
	if (commitment_type != 0)
	{
		set_text(st, values, nulls, OA_COMMITMENT_TYPE,
				 commitment_type == 'r' ? "ri" : "sp");
		set_text(st, values, nulls, OA_COMMITMENT_ID, commitment_id);
	}

	/* charge type, cost views */
	if (st->format == FORMAT_FOCUS)
	{
		const char *pc = field_text(st, SF_PRICING_CATEGORY);
		bool		negative = DatumGetBool(DirectFunctionCall2(numeric_lt, unblended,
																 DirectFunctionCall1(int4_numeric, Int32GetDatum(0))));

		charge = focus_charge_type(st, charge, commitment_type, negative);
		if (pc != NULL && (strcmp(pc, "Standard") == 0 ||
						   strcmp(pc, "Committed") == 0 ||
						   strcmp(pc, "Dynamic") == 0))
			pricing_category = pc;
		copy_number(st, values, nulls, OA_AMORTIZED, SF_EFFECTIVE);
		/* FOCUS names the service; use the CUR product code for EC2 */
		if (service != NULL && strcmp(service, "Amazon Elastic Compute Cloud") == 0)
			service = "AmazonEC2";
	}
	else
	{
		Datum		a,
					b;
		bool		anull,
					bnull;

		if (strcmp(charge, "Usage") == 0)
		{
			values[OA_AMORTIZED] = unblended;
			nulls[OA_AMORTIZED] = false;
		}
		else if (strcmp(charge, "DiscountedUsage") == 0)
			copy_number(st, values, nulls, OA_AMORTIZED, SF_RI_EFFECTIVE);
		else if (strcmp(charge, "SavingsPlanCoveredUsage") == 0)
			copy_number(st, values, nulls, OA_AMORTIZED, SF_SP_EFFECTIVE);
		else if (strcmp(charge, "RIFee") == 0)
		{
			/* the unused part: upfront share plus recurring fee */
			a = field_number(st, SF_RI_UNUSED_UPFRONT, &anull);
			b = field_number(st, SF_RI_UNUSED_RECURRING, &bnull);
			if (st->colmap[SF_RI_UNUSED_UPFRONT] >= 0 ||
				st->colmap[SF_RI_UNUSED_RECURRING] >= 0)
			{
				Datum		zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));

				sum_known(&values[OA_AMORTIZED], &nulls[OA_AMORTIZED],
						  anull ? zero : a, false, bnull ? zero : b, false);
			}
		}
		else if (strcmp(charge, "SavingsPlanRecurringFee") == 0)
		{
			a = field_number(st, SF_SP_TOTAL, &anull);
			b = field_number(st, SF_SP_USED, &bnull);
			if (!anull && !bnull)
			{
				values[OA_AMORTIZED] = DirectFunctionCall2(numeric_sub, a, b);
				nulls[OA_AMORTIZED] = false;
			}
		}
		else if (strcmp(charge, "SavingsPlanNegation") == 0 ||
				 strcmp(charge, "SavingsPlanUpfrontFee") == 0 ||
				 (strcmp(charge, "Fee") == 0 && commitment_type == 'r'))
		{
			values[OA_AMORTIZED] = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
			nulls[OA_AMORTIZED] = false;
		}
		else
		{
			/* Tax, Credit, Refund, other fees: as invoiced (see SQL for refunds) */
			values[OA_AMORTIZED] = unblended;
			nulls[OA_AMORTIZED] = false;
		}
	}
	set_text(st, values, nulls, OA_CHARGE_TYPE, charge);
	if (!start_null && !end_null)
		check_times(st, charge, usage_start, usage_end);

	/* usage facts */
	usage_type = field_text(st, SF_USAGE_TYPE);
	if (usage_type == NULL)
		usage_type = field_text(st, SF_PRODUCT_USAGE_TYPE);
	region = field_text(st, SF_REGION);
	if (region == NULL)
	{
		region = field_text(st, SF_REGION_NAME);
		if (region != NULL && !looks_like_region(region))
			region = NULL;
	}
	if (unit != NULL && strcmp(unit, "Hours") == 0)
		unit = "Hrs";

	if (st->format == FORMAT_FOCUS)
	{
		DescriptionFacts df;

		if (description != NULL && service != NULL &&
			strcmp(service, "AmazonEC2") == 0)
		{
			parse_focus_description(description, &df);
			instance_type = df.instance_type;
			platform = df.platform;
			tenancy = df.tenancy;
			instance_line = (df.tenancy != NULL);
			/* without PricingCategory, Spot is known from the description */
			if (df.spot && pricing_category == NULL)
				pricing_category = "Dynamic";
		}
	}
	else
	{
		UsageTypeFacts uf;
		const char *os = field_text(st, SF_OS);
		const char *product_tenancy = field_text(st, SF_TENANCY);

		memset(&uf, 0, sizeof(uf));
		if (usage_type != NULL)
			parse_usage_type(usage_type, &uf);
		instance_line = (uf.tenancy != NULL);
		instance_type = field_text(st, SF_INSTANCE_TYPE);
		if (instance_type == NULL)
			instance_type = uf.instance_type;
		if (os != NULL)
		{
			const char *license = field_text(st, SF_LICENSE);

			/* bring-your-own-licence Windows is priced as Linux: unknown */
			if (license == NULL || strcmp(license, "Bring your own license") != 0)
				platform = platform_from_os(os, strlen(os),
											field_text(st, SF_PREINSTALLED));
		}
		else if (instance_type != NULL && field_text(st, SF_OPERATION) != NULL)
			platform = platform_from_operation(field_text(st, SF_OPERATION));
		tenancy = product_tenancy ? tenancy_from_product(product_tenancy)
			: uf.tenancy;
		if (uf.spot)
			pricing_category = "Dynamic";
		else if (strcmp(charge, "DiscountedUsage") == 0 ||
				 strcmp(charge, "SavingsPlanCoveredUsage") == 0)
			pricing_category = "Committed";
		else if (strcmp(charge, "Usage") == 0)
			pricing_category = "Standard";
	}

	/*
	 * EC2 instance-hours are usage lines of AmazonEC2 in hours whose usage
	 * type (CUR) or charge description (FOCUS) names instance usage, or
	 * (CUR) that name an instance type.  A line without a unit whose usage
	 * type or description names instance usage is in hours: AWS bills that
	 * usage in no other unit.  Other EC2 usage without a unit cannot be
	 * told from storage or traffic; it is counted for a NOTICE, as is
	 * usage in hours (or EC2 usage without a unit) of an export lacking
	 * the columns that would tell.
	 */
	ec2_usage = is_usage_charge(charge) && service != NULL &&
		strcmp(service, "AmazonEC2") == 0;
	if (ec2_usage && unit == NULL && instance_line)
	{
		unit = "Hrs";
		tally_line(&st->hours_inferred, st->line_no);
	}
	else if (ec2_usage && unit == NULL && st->missing_usage_column == NULL)
		tally_line(&st->no_unit_not_usage, st->line_no);
	if (st->missing_usage_column != NULL &&
		((ec2_usage && unit == NULL) ||
		 (is_usage_charge(charge) && unit != NULL && strcmp(unit, "Hrs") == 0 &&
		  (service == NULL || strcmp(service, "AmazonEC2") == 0))))
		tally_line(&st->unrecognisable, st->line_no);
	instance_hours = ec2_usage && unit != NULL && strcmp(unit, "Hrs") == 0 &&
		(instance_type != NULL || instance_line);

	/* usage amount; an EC2 instance-hour usage line must be countable */
	copy_number(st, values, nulls, OA_USAGE_AMOUNT, SF_USAGE_AMOUNT);
	if (instance_hours)
		check_instance_usage(st, instance_type, values[OA_USAGE_AMOUNT],
							 nulls[OA_USAGE_AMOUNT]);

	set_text(st, values, nulls, OA_ACCOUNT, field_text(st, SF_ACCOUNT));
	set_text(st, values, nulls, OA_SERVICE, service);
	set_text(st, values, nulls, OA_REGION, region);
	set_text(st, values, nulls, OA_AZ, field_text(st, SF_AZ));
	set_text(st, values, nulls, OA_INSTANCE_TYPE, instance_type);
	set_text(st, values, nulls, OA_PLATFORM, platform);
	set_text(st, values, nulls, OA_TENANCY, tenancy);
	set_text(st, values, nulls, OA_USAGE_TYPE, usage_type);
	set_text(st, values, nulls, OA_UNIT, unit);
	copy_number(st, values, nulls, OA_NORM_FACTOR, SF_NORM_FACTOR);
	copy_number(st, values, nulls, OA_PUBLIC_OD_COST, SF_LIST_COST);
	copy_number(st, values, nulls, OA_OD_RATE, SF_LIST_RATE);
	/* only instance-hours are simulated, so only their rate is derived */
	if (nulls[OA_OD_RATE] && instance_hours &&
		!nulls[OA_PUBLIC_OD_COST] && !nulls[OA_USAGE_AMOUNT])
	{
		values[OA_OD_RATE] = derived_rate(st, values[OA_PUBLIC_OD_COST],
										  values[OA_USAGE_AMOUNT],
										  &nulls[OA_OD_RATE]);
		rate_derived = !nulls[OA_OD_RATE];
	}
	if (instance_hours && !nulls[OA_OD_RATE])
		check_od_rate(st, values[OA_OD_RATE], rate_derived);
	set_text(st, values, nulls, OA_DESCRIPTION, description);
	set_text(st, values, nulls, OA_PRICING_CATEGORY, pricing_category);

	/* tags */
	if (st->format == FORMAT_CUR)
		tags = column_tags(st);
	else if (field_text(st, SF_TAGS) != NULL)
		tags = json_tags(st, field_text(st, SF_TAGS),
						 st->format == FORMAT_CUR2 ? "user_" : "user:");
	else
		tags = NULL;
	if (tags == NULL)
		tags = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	values[OA_TAGS] = JsonbPGetDatum(tags);
	nulls[OA_TAGS] = false;

	/* commitment facts, kept for the inventory */
	copy_number(st, values, nulls, OA_COMMITMENT_COUNT, SF_RI_COUNT);
	if (!nulls[OA_COMMITMENT_COUNT])
		check_reservations(st, values[OA_COMMITMENT_COUNT]);
	if (commitment_type == 'r')
	{
		values[OA_COMMITMENT_START] = TimestampTzGetDatum(
			field_timestamp(st, SF_RI_START, &nulls[OA_COMMITMENT_START], NULL));
		values[OA_COMMITMENT_END] = TimestampTzGetDatum(
			field_timestamp(st, SF_RI_END, &nulls[OA_COMMITMENT_END], NULL));
		set_text(st, values, nulls, OA_TERM, field_text(st, SF_RI_LEASE));
		set_text(st, values, nulls, OA_PAYMENT_OPTION,
				 field_text(st, SF_RI_PURCHASE_OPTION));
	}
	else
	{
		values[OA_COMMITMENT_START] = TimestampTzGetDatum(
			field_timestamp(st, SF_SP_START, &nulls[OA_COMMITMENT_START], NULL));
		values[OA_COMMITMENT_END] = TimestampTzGetDatum(
			field_timestamp(st, SF_SP_END, &nulls[OA_COMMITMENT_END], NULL));
		set_text(st, values, nulls, OA_TERM, field_text(st, SF_SP_TERM));
		set_text(st, values, nulls, OA_PAYMENT_OPTION, field_text(st, SF_SP_PAYMENT));
	}
	copy_number(st, values, nulls, OA_RI_UPFRONT_PERIOD, SF_RI_UPFRONT_PERIOD);
	copy_number(st, values, nulls, OA_SP_TOTAL_COMMITMENT, SF_SP_TOTAL);
	set_text(st, values, nulls, OA_OFFERING_CLASS, field_text(st, SF_RI_OFFERING_CLASS));
	set_text(st, values, nulls, OA_SP_OFFERING_TYPE, field_text(st, SF_SP_OFFERING));
	set_text(st, values, nulls, OA_SP_REGION, field_text(st, SF_SP_REGION));
	set_text(st, values, nulls, OA_SP_FAMILY, field_text(st, SF_SP_FAMILY));

	/* fields validated even where this line does not use them */
	if (commitment_type == 'r')
	{
		bool		isnull;

		(void) field_number(st, SF_RI_EFFECTIVE, &isnull);
		(void) field_timestamp(st, SF_SP_START, &isnull, NULL);
		(void) field_timestamp(st, SF_SP_END, &isnull, NULL);
	}
	else
	{
		bool		isnull;

		(void) field_timestamp(st, SF_RI_START, &isnull, NULL);
		(void) field_timestamp(st, SF_RI_END, &isnull, NULL);
	}

	tuplestore_putvalues(st->tupstore, st->tupdesc, values, nulls);
}

/*
 * on_record is the CSV reader's callback: the first record is the header,
 * every other one a line of the export.
 */
static void
on_record(void *arg, int nfields, char **fields, size_t *lengths,
		  int64 line_no)
{
	ImportState *st = (ImportState *) arg;
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	MemoryContextReset(st->row_cxt);
	if (!st->have_header)
	{
		setup_header(st, nfields, fields);
		return;
	}
	if (nfields != st->ncolumns)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("line %lld has %d fields, the header has %d",
						(long long) line_no, nfields, st->ncolumns)));
	if (line_no > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("billing export has more than %d lines", PG_INT32_MAX)));
	st->fields = fields;
	st->lengths = lengths;
	st->line_no = line_no;
	st->nlines++;
	old = MemoryContextSwitchTo(st->row_cxt);
	convert_record(st);
	MemoryContextSwitchTo(old);
}

/*
 * feed_physical_line checks one physical line and hands it to the CSV
 * parser.  The first line loses its UTF-8 byte order mark.
 */
static void
feed_physical_line(ImportState *st, const char *data, size_t len)
{
	int64		line_no = ++st->physical_lines;

	if (line_no == 1 && len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
	{
		data += 3;
		len -= 3;
	}
	if (st->verify_utf8)
	{
		int			valid = pg_encoding_verifymbstr(PG_UTF8, data, len);

		if ((size_t) valid < len)
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid UTF-8 byte sequence at line %lld, byte %d: 0x%02x",
							(long long) line_no, valid + 1,
							(unsigned char) data[valid])));
	}
	csv_reader_feed_line(&st->reader, data, len, line_no);
}

/*
 * line_end_length: the length of the line end at p (LF, CRLF, or a CR not
 * followed by LF, as libcsv ends records), 0 when p starts none.  A CR
 * that is the last byte before end ends a line: callers never cut the
 * input between CR and LF.
 */
static size_t
line_end_length(const char *p, const char *end)
{
	if (*p == '\n')
		return 1;
	if (*p == '\r')
		return (p + 1 < end && p[1] == '\n') ? 2 : 1;
	return 0;
}

/*
 * feed_lines hands text that ends at a line end (or at the end of the
 * input) to the CSV parser one physical line at a time, so that the line
 * numbers of records and errors count the line ends of a CR-only (classic
 * Mac) file as libcsv does.
 */
static void
feed_lines(ImportState *st, const char *data, size_t len)
{
	const char *end = data + len;
	const char *start = data;

	for (const char *p = data; p < end;)
	{
		size_t		eol = line_end_length(p, end);

		if (eol == 0)
		{
			p++;
			continue;
		}
		p += eol;
		feed_physical_line(st, start, p - start);
		start = p;
	}
	if (start < end)
		feed_physical_line(st, start, end - start);
}

/*
 * begin_import sets up the result set of a parse function and the parse
 * state.
 */
static ImportState *
begin_import(FunctionCallInfo fcinfo, int input_encoding, bool verify_utf8)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ImportState *st;

	InitMaterializedSRF(fcinfo, 0);
	st = palloc0(sizeof(ImportState));
	st->tupstore = rsinfo->setResult;
	st->tupdesc = rsinfo->setDesc;
	if (st->tupdesc->natts != NUM_OUT_ATTRS)
		elog(ERROR, "commitopt.import_line has %d attributes, expected %d",
			 st->tupdesc->natts, NUM_OUT_ATTRS);
	st->input_encoding = input_encoding;
	st->verify_utf8 = verify_utf8;
	st->row_cxt = AllocSetContextCreate(CurrentMemoryContext,
										"billing import row",
										ALLOCSET_DEFAULT_SIZES);
	csv_reader_init(&st->reader, on_record, st);
	st->numeric_zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	st->od_rate_lowest = DirectFunctionCall1(float8_numeric,
											 Float8GetDatum(IMPORT_OD_RATE_MIN));
	st->od_rate_highest = DirectFunctionCall1(int4_numeric,
											  Int32GetDatum(IMPORT_OD_RATE_MAX));
	return st;
}

/*
 * report_unit_tallies says, after the last line, which usage lines were
 * taken as instance-hours without a unit, and which were not recognised
 * as instance-hours for want of a unit or of a column: none of them is
 * left out of the usage series silently.
 */
static void
report_unit_tallies(ImportState *st)
{
	const char *unit_column = expected_column_name(st, SF_UNIT);
	const char *evidence = st->format == FORMAT_FOCUS ?
		"charge description" : "usage type";
	const char *no_unit = st->colmap[SF_UNIT] < 0 ?
		psprintf("the export has no column \"%s\"", unit_column) :
		psprintf("column \"%s\" is empty", unit_column);

	if (st->hours_inferred.count > 0)
		ereport(NOTICE,
				(errmsg_plural("%lld EC2 usage line without a unit counted as instance-hours, at line %lld",
							   "%lld EC2 usage lines without a unit counted as instance-hours, first at line %lld",
							   st->hours_inferred.count,
							   (long long) st->hours_inferred.count,
							   (long long) st->hours_inferred.first_line),
				 errdetail_plural("Its unit is not given (%s); its %s names instance usage, which AWS bills in hours.",
								  "Their unit is not given (%s); their %s names instance usage, which AWS bills in hours.",
								  st->hours_inferred.count, no_unit, evidence)));
	if (st->no_unit_not_usage.count > 0)
		ereport(NOTICE,
				(errmsg_plural("%lld EC2 usage line without a unit not counted as instance-hours, at line %lld",
							   "%lld EC2 usage lines without a unit not counted as instance-hours, first at line %lld",
							   st->no_unit_not_usage.count,
							   (long long) st->no_unit_not_usage.count,
							   (long long) st->no_unit_not_usage.first_line),
				 errdetail_plural("Its unit is not given (%s) and its %s names no instance usage; it is kept as a billed line only.",
								  "Their unit is not given (%s) and their %s names no instance usage; they are kept as billed lines only.",
								  st->no_unit_not_usage.count, no_unit, evidence)));
	if (st->unrecognisable.count > 0)
		ereport(NOTICE,
				(errmsg_plural("%lld usage line not recognised as EC2 instance-hours, at line %lld",
							   "%lld usage lines not recognised as EC2 instance-hours, first at line %lld",
							   st->unrecognisable.count,
							   (long long) st->unrecognisable.count,
							   (long long) st->unrecognisable.first_line),
				 errdetail("The export has no column \"%s\", which tells EC2 instance usage from other usage; such lines are kept as billed lines only.",
						   st->missing_usage_column)));
}

/* end_import finishes parsing and refuses an export with no lines. */
static void
end_import(ImportState *st)
{
	csv_reader_finish(&st->reader);
	if (!st->have_header)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("billing export is empty")));
	if (st->nlines == 0)
		ereport(ERROR,
				(errcode(ERRCODE_BAD_COPY_FILE_FORMAT),
				 errmsg("billing export has a header but no lines")));
	if (st->raw_tag_lines > 0)
		ereport(NOTICE,
				(errmsg("tags of %lld lines are not JSON objects; kept under the key \"_raw\"",
						(long long) st->raw_tag_lines)));
	report_unit_tallies(st);
	MemoryContextDelete(st->row_cxt);
}

/*
 * commitopt_parse_billing_file(path text) returns the lines of a billing
 * export read from a server file, normalized (commitopt.import_line).
 * Reading server files needs superuser or pg_read_server_files.
 */
Datum
commitopt_parse_billing_file(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ImportState *st;
	FILE	   *file;
	StringInfoData line;
	char		buf[65536];
	size_t		n;
	bool		pending_cr = false;

	if (!superuser() && !has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to import billing export file"),
				 errdetail("Only superusers and roles with privileges of the \"pg_read_server_files\" role may read server files."),
				 errhint("Stream the file into the view commitopt.billing_upload_lines (psql's \\copy) and call commitopt.import_my_billing_upload() instead.")));

	st = begin_import(fcinfo, PG_UTF8, true);
	file = AllocateFile(path, PG_BINARY_R);
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", path)));

	/*
	 * Collect whole physical lines (LF, CRLF or bare CR ends) and feed each
	 * as it completes; a CR at the end of a buffer waits for the next one,
	 * which says whether an LF follows.
	 */
	initStringInfo(&line);
	while ((n = fread(buf, 1, sizeof(buf), file)) > 0)
	{
		const char *p = buf;
		const char *end = buf + n;

		if (pending_cr)
		{
			if (*p == '\n')
				appendStringInfoChar(&line, *p++);
			feed_physical_line(st, line.data, line.len);
			resetStringInfo(&line);
			pending_cr = false;
		}
		while (p < end)
		{
			const char *brk = p;

			while (brk < end && *brk != '\n' && *brk != '\r')
				brk++;
			if (brk == end || (*brk == '\r' && brk + 1 == end))
			{
				appendBinaryStringInfo(&line, p, end - p);
				pending_cr = (brk < end);
				break;
			}
			brk += line_end_length(brk, end);
			appendBinaryStringInfo(&line, p, brk - p);
			feed_physical_line(st, line.data, line.len);
			resetStringInfo(&line);
			p = brk;
		}
	}
	if (ferror(file))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	if (line.len > 0)
		feed_physical_line(st, line.data, line.len);
	FreeFile(file);
	end_import(st);
	return (Datum) 0;
}

/*
 * commitopt_upload_session() names the current database session: backend
 * process id and backend start time (microseconds), which together never
 * repeat while the server's clock moves forward.
 */
Datum
commitopt_upload_session(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("%d:" INT64_FORMAT, MyProcPid,
											  (int64) MyStartTimestamp)));
}

/*
 * commitopt_upload_session_is_live(upload_session text) says whether the
 * database session an upload_session() value names is still connected:
 * a backend with that process id and start time.  The backends' status
 * array is read directly, not pg_stat_activity, which hides other roles'
 * start times from roles without pg_read_all_stats.  A malformed value
 * names no session.
 */
Datum
commitopt_upload_session_is_live(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int			pid;
	long long	started;
	int			used = 0;
	int			backends;

	if (sscanf(name, "%d:%lld%n", &pid, &started, &used) != 2 ||
		name[used] != '\0')
		PG_RETURN_BOOL(false);
	backends = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= backends; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);

		if (local != NULL &&
			local->backendStatus.st_procpid == pid &&
			(long long) local->backendStatus.st_proc_start_timestamp == started)
			PG_RETURN_BOOL(true);
	}
	PG_RETURN_BOOL(false);
}

/*
 * commitopt_parse_billing_upload(tenant uuid) returns the lines of the
 * export this session streamed into commitopt.billing_upload for the
 * tenant, one physical line per row in line_no order, normalized like a
 * file.  Lines of other sessions are not read.
 */
Datum
commitopt_parse_billing_upload(PG_FUNCTION_ARGS)
{
	Datum		tenant = PG_GETARG_DATUM(0);
	ImportState *st;
	SPIPlanPtr	plan;
	Portal		portal;
	Oid			argtypes[1] = {UUIDOID};
	MemoryContext line_cxt;

	st = begin_import(fcinfo, GetDatabaseEncoding(), false);
	line_cxt = AllocSetContextCreate(CurrentMemoryContext,
									 "billing upload line",
									 ALLOCSET_DEFAULT_SIZES);

	SPI_connect();
	plan = SPI_prepare("SELECT line FROM commitopt.billing_upload "
					   "WHERE tenant_id = $1"
					   " AND upload_session = commitopt.upload_session()"
					   " ORDER BY line_no",
					   1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, &tenant, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i],
										  SPI_tuptable->tupdesc, 1, &isnull);
			text	   *t;
			StringInfoData buf;
			MemoryContext old = MemoryContextSwitchTo(line_cxt);

			initStringInfo(&buf);
			if (!isnull)
			{
				t = DatumGetTextPP(d);
				appendBinaryStringInfo(&buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			/* a row is a line of the file: \copy split the file at LF */
			appendStringInfoChar(&buf, '\n');
			feed_lines(st, buf.data, buf.len);
			MemoryContextSwitchTo(old);
			MemoryContextReset(line_cxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(line_cxt);
	end_import(st);
	return (Datum) 0;
}
