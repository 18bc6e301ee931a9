-- Retention: the setting refuses less than 365 days; old entries leave in
-- whole monthly partitions after a checkpoint, and the chain still
-- verifies; removing old entries any other way is caught.
SET client_min_messages = warning;
\pset null '(null)'

--
-- The setting: default 400, at least 365, superusers only.
--
SHOW commitopt.audit_retention_days;
SET commitopt.audit_retention_days = 364;
SET commitopt.audit_retention_days = 0;
SET commitopt.audit_retention_days = -1;
SET commitopt.audit_retention_days = 'a year';
SET commitopt.audit_retention_days = 36501;
SET commitopt.audit_retention_days = 365;
SHOW commitopt.audit_retention_days;
RESET commitopt.audit_retention_days;
DROP ROLE IF EXISTS regress_audit_retention;
CREATE ROLE regress_audit_retention;
GRANT USAGE ON SCHEMA commitopt TO regress_audit_retention;
SET ROLE regress_audit_retention;
SET commitopt.audit_retention_days = 500;
SELECT * FROM commitopt.audit_retention();
RESET ROLE;
REVOKE USAGE ON SCHEMA commitopt FROM regress_audit_retention;
DROP ROLE regress_audit_retention;

--
-- Two tenants.  R has entries 1-2 twenty months ago, 3 nineteen months
-- ago, 4 two months ago and 5 now; S has entries only twenty months ago.
-- Months are counted from the first of this month, so that each entry
-- sits in the middle of its partition whatever the day of the run.
--
INSERT INTO commitopt.tenants (tenant_id, slug, name) VALUES
	('e0000001-0000-0000-0000-000000000000', 'audit-retention-r', 'Retention R'),
	('e0000002-0000-0000-0000-000000000000', 'audit-retention-s', 'Retention S');
CREATE TEMP TABLE months AS
SELECT date_trunc('month', now(), 'UTC') - interval '20 months'
		   + interval '10 days' AS m20,
	   date_trunc('month', now(), 'UTC') - interval '19 months'
		   + interval '10 days' AS m19,
	   date_trunc('month', now(), 'UTC') - interval '2 months'
		   + interval '10 days' AS m2;
SELECT commitopt.audit_append(m20, 'e0000001-0000-0000-0000-000000000000',
	NULL, 'r', NULL, 'login.success', 'user:1', '{}') FROM months;
SELECT commitopt.audit_append(m20 + interval '1 hour',
	'e0000001-0000-0000-0000-000000000000', NULL, 'r', NULL, 'logout',
	'user:1', '{}') FROM months;
SELECT commitopt.audit_append(m19, 'e0000001-0000-0000-0000-000000000000',
	NULL, 'r', NULL, 'login.success', 'user:1', '{}') FROM months;
SELECT commitopt.audit_append(m2, 'e0000001-0000-0000-0000-000000000000',
	NULL, 'r', NULL, 'login.success', 'user:1', '{}') FROM months;
SELECT commitopt.audit_append(m20, 'e0000002-0000-0000-0000-000000000000',
	NULL, 's', NULL, 'login.success', 'user:2', '{}') FROM months;
SELECT commitopt.audit_append(m20 + interval '2 hours',
	'e0000002-0000-0000-0000-000000000000', NULL, 's', NULL,
	'login.failure', 'user:2', '{}') FROM months;
SELECT commitopt.audit_record('e0000001-0000-0000-0000-000000000000', NULL,
	NULL, NULL, 'logout', 'user:1', '{}');

-- The predecessor hash of R's entry 4, which the checkpoint must name.
SELECT encode(prev_hash, 'hex') AS r_prev_of_4
  FROM commitopt.audit_log
 WHERE tenant_id = 'e0000001-0000-0000-0000-000000000000' AND entry_id = 4 \gset
SELECT encode(last_hash, 'hex') AS s_head
  FROM commitopt.audit_chain_heads
 WHERE tenant_id = 'e0000002-0000-0000-0000-000000000000' \gset

-- Expected before: R 5 entries, S 2, both intact.
SELECT * FROM commitopt.verify_audit('e0000001-0000-0000-0000-000000000000');
SELECT * FROM commitopt.verify_audit('e0000002-0000-0000-0000-000000000000');

-- A retention of 400 days keeps the partition of two months ago (it
-- ended about a month ago) and drops those of nineteen and twenty months
-- ago (they ended more than 540 days ago).  Other tests' old partitions
-- may go too, so only ours are looked at.
CREATE TEMP TABLE dropped AS SELECT * FROM commitopt.audit_retention() p;
SELECT commitopt.audit_partition_name(m20) IN (SELECT p FROM dropped) AS m20_dropped,
	   commitopt.audit_partition_name(m19) IN (SELECT p FROM dropped) AS m19_dropped,
	   commitopt.audit_partition_name(m2) IN (SELECT p FROM dropped) AS m2_dropped,
	   to_regclass('commitopt.' || commitopt.audit_partition_name(m2)) IS NOT NULL AS m2_exists,
	   to_regclass('commitopt.' || commitopt.audit_partition_name(now())) IS NOT NULL AS this_month_exists,
	   to_regclass('commitopt.' || commitopt.audit_partition_name(now() + interval '1 month')) IS NOT NULL AS next_month_exists
  FROM months;
-- No partition that ended less than 400 days ago was dropped.
SELECT count(*) AS dropped_too_recent
  FROM dropped
 WHERE (to_date(substr(p, 12), 'YYYYMM') + interval '1 month')
	   > now() - interval '400 days';

-- The checkpoints.  Expected: R gets entry 6, naming entry 4 as its first
-- kept entry and entry 3's hash as that entry's predecessor; S lost all
-- its entries, so its checkpoint (entry 3) is its own first kept entry,
-- after S's old head.
SELECT tenant_id, entry_id, action, object,
	   details->'first_kept_entry' AS first_kept_entry,
	   details->>'first_kept_prev_hash' = CASE tenant_id
		   WHEN 'e0000001-0000-0000-0000-000000000000' THEN :'r_prev_of_4'
		   ELSE :'s_head' END AS names_the_right_hash,
	   details->'retention_days' AS retention_days,
	   details ? 'dropped_partitions' AS lists_partitions
  FROM commitopt.audit_log
 WHERE tenant_id IN ('e0000001-0000-0000-0000-000000000000',
					 'e0000002-0000-0000-0000-000000000000')
   AND action = 'audit.checkpoint'
 ORDER BY tenant_id;

-- Expected after: R keeps 4, 5 and the checkpoint 6, S only its
-- checkpoint 3; both verify.
SELECT tenant_id, array_agg(entry_id ORDER BY entry_id) AS kept
  FROM commitopt.audit_log
 WHERE tenant_id IN ('e0000001-0000-0000-0000-000000000000',
					 'e0000002-0000-0000-0000-000000000000')
 GROUP BY tenant_id ORDER BY tenant_id;
SELECT * FROM commitopt.verify_audit('e0000001-0000-0000-0000-000000000000');
SELECT * FROM commitopt.verify_audit('e0000002-0000-0000-0000-000000000000');

-- The chain goes on after a checkpoint.  Expected: R entry 7, intact.
SELECT commitopt.audit_record('e0000001-0000-0000-0000-000000000000', NULL,
	NULL, NULL, 'login.success', 'user:1', '{}');
SELECT * FROM commitopt.verify_audit('e0000001-0000-0000-0000-000000000000');

-- A second run drops nothing of ours and writes no new checkpoint for R.
SELECT count(*) AS ours_dropped_again
  FROM commitopt.audit_retention() p, months
 WHERE p IN (commitopt.audit_partition_name(m2),
			 commitopt.audit_partition_name(now()));
SELECT count(*) AS r_checkpoints
  FROM commitopt.audit_log
 WHERE tenant_id = 'e0000001-0000-0000-0000-000000000000'
   AND action = 'audit.checkpoint';

-- Dropping a partition by hand, without a checkpoint, is caught: R's
-- entry 4 goes with the partition of two months ago.  Expected: f, 3
-- entries left, broken at 5.
DO $$
BEGIN
	EXECUTE format('DROP TABLE commitopt.%I',
				   commitopt.audit_partition_name((SELECT m2 FROM months)));
END
$$;
SELECT * FROM commitopt.verify_audit('e0000001-0000-0000-0000-000000000000');
