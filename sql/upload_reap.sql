-- The session reaper also removes the upload lines of database sessions
-- that have disconnected (nobody can import or discard them any more);
-- the lines of a connected session stay.
SET client_min_messages = warning;
SELECT commitopt.ensure_tenant('reap-uploads', 'Reap uploads') AS t \gset
RESET client_min_messages;

-- A connection streams a line, then closes.
SELECT pg_backend_pid() AS gone_pid \gset
INSERT INTO commitopt.billing_upload (tenant_id, line) VALUES (:'t', 'gone');
\c
-- Wait until that backend has exited: its exit follows the close.
SELECT set_config('reap.gone_pid', :'gone_pid', false) IS NOT NULL AS noted;
DO $$
BEGIN
	FOR i IN 1 .. 600 LOOP
		PERFORM pg_stat_clear_snapshot();
		EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity
							   WHERE pid = current_setting('reap.gone_pid')::int);
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;

-- Lines of a made-up session, of an earlier session of this backend's
-- process id (another start time), and this session's own.
INSERT INTO commitopt.billing_upload (tenant_id, upload_session, line)
VALUES (:'t', 'no-such-session', 'made-up'),
	   (:'t', pg_backend_pid() || ':1', 'earlier'),
	   (:'t', commitopt.upload_session(), 'mine');
SELECT commitopt.upload_session_is_live(commitopt.upload_session()) AS mine_live,
	   commitopt.upload_session_is_live(pg_backend_pid() || ':1') AS earlier_live,
	   commitopt.upload_session_is_live('garbage') AS garbage_live;

-- Only this session's line survives the reaper.
SELECT commitopt.sessions_reap() >= 0 AS reaped;
SELECT line FROM commitopt.billing_upload WHERE tenant_id = :'t' ORDER BY line;

-- Nobody but the reaper's role may ask, not even an analyst.
CREATE ROLE reap_outsider IN ROLE commitopt_analyst;
SET ROLE reap_outsider;
SELECT commitopt.upload_session_is_live('1:1');
RESET ROLE;
DROP ROLE reap_outsider;
DELETE FROM commitopt.billing_upload WHERE tenant_id = :'t';
