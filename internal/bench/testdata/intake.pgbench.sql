-- One call intake, as the HTTP path runs it against the database, run
-- directly by pgbench (with -M prepared: pgx also sends parameters through
-- prepared statements). The HTTP path's session reads and writes are not
-- here: they are part of what the HTTP benchmark measures beyond this.
--
-- 1. GET /incidents/new: the intake draft (postgres.DB.CreateDraft).
-- 2. POST /incidents: the draft's received time (DraftReceivedAt), the
--    server's clock (NowUTC), then postgres.DB.CreateIncident's
--    transaction, statement by statement: the incident with its history
--    keys, its first timeline event, its follow-ups (followUpsForNewIncident:
--    a DV incident's standard follow-up and, when the flat has an earlier
--    DV incident, a re-screen, each from its schedule), the change
--    notification, and the audit row appended to the hash chain under the
--    advisory lock (postgres.appendAudit). The audit hash is computed here
--    with sha256() rather than in Go, the follow-ups' due times with
--    make_interval() rather than incident.Schedule.Due (both schedules have
--    one due time).
--
-- Variables set with pgbench -D: uid0 and nusers (the benchmark's
-- dispatchers have consecutive ids uid0 .. uid0+nusers-1), year, district,
-- type, priority, and the form's values and normalised keys.
\set uid :uid0 + (:client_id % :nusers)
INSERT INTO intake_drafts (user_id) VALUES (:uid) RETURNING key::text AS key, received_at \gset d_
SELECT received_at FROM intake_drafts WHERE key::text = :d_key AND user_id = :uid \gset dr_
SELECT now() AS now \gset n_
BEGIN;
WITH ins AS (INSERT INTO incidents (
		number, idempotency_key, source, received_at, received_manual,
		type_id, priority, district_id, settlement_id, address, location_notes, latitude, longitude,
		caller_name, caller_phone, caller_relation, caller_safe_to_call, caller_anonymous, caller_language,
		weapons, children_present, injuries,
		victim_name, victim_sex, victim_age, suspect_name, suspect_sex, suspect_age, relationship, narrative, created_by)
	VALUES ('DV-' || lpad(:year::text, 4, '0') || '-' || lpad(nextval('incident_number_seq')::text, 6, '0'),
		:d_key::uuid, 'intake', :d_received_at::timestamptz, false,
		:type, :priority, :district, NULL, :address, '', NULL, NULL,
		:caller_name, :caller_phone, '', NULL, false, '',
		true, NULL, NULL,
		:victim_name, NULL, NULL, :suspect_name, NULL, NULL, '', :narrative, :uid)
	ON CONFLICT (idempotency_key) DO NOTHING
	RETURNING id, number, received_at),
	k AS (INSERT INTO incident_keys (incident_id, received_at, address_key, building_key, phone_key, caller_key, victim_key, suspect_key)
		SELECT id, received_at, :address_key, :building_key, :phone_key, :caller_key, :victim_key, :suspect_key FROM ins)
	SELECT id, number FROM ins \gset i_
INSERT INTO incident_events (incident_id, at, user_id, kind, data)
	VALUES (:i_id, now(), :uid, 'created', jsonb_build_object('priority', :priority::int, 'type_id', :type::bigint));
SELECT CASE WHEN t.is_dv THEN 1 ELSE 0 END AS dv,
		CASE WHEN :address_key <> '' AND EXISTS (SELECT 1 FROM incident_keys jk JOIN incidents j ON j.id = jk.incident_id
			JOIN incident_types jt ON jt.id = j.type_id
			WHERE jk.address_key = :address_key AND jk.incident_id <> i.id AND jt.is_dv) THEN 1 ELSE 0 END AS history
	FROM incidents i JOIN incident_types t ON t.id = i.type_id WHERE i.id = :i_id \gset f_
\if :f_dv
SELECT coalesce((SELECT first_hours FROM follow_up_schedules WHERE reason = 'standard'), 720) AS first \gset fs_
INSERT INTO follow_up_tasks (incident_id, district_id, reason, trigger_key, seq, due_at, unit_id)
	SELECT i.id, i.district_id, 'standard', 'incident:' || :i_id::text, d.seq, d.due, NULL
	FROM incidents i, unnest(ARRAY[:d_received_at::timestamptz + make_interval(hours => :fs_first)]) WITH ORDINALITY AS d(due, seq)
	WHERE i.id = :i_id
	ON CONFLICT (trigger_key, seq) DO NOTHING;
\endif
\if :f_history
SELECT coalesce((SELECT first_hours FROM follow_up_schedules WHERE reason = 'rescreen'), 24) AS first \gset fr_
INSERT INTO follow_up_tasks (incident_id, district_id, reason, trigger_key, seq, due_at, unit_id)
	SELECT i.id, i.district_id, 'rescreen', 'rescreen:' || :i_id::text, d.seq, d.due, NULL
	FROM incidents i, unnest(ARRAY[:d_received_at::timestamptz + make_interval(hours => :fr_first)]) WITH ORDINALITY AS d(due, seq)
	WHERE i.id = :i_id
	ON CONFLICT (trigger_key, seq) DO NOTHING;
\endif
SELECT pg_notify('dv_changes', 'incident:' || :i_id::text);
SELECT pg_advisory_xact_lock(7268210001);
SELECT coalesce((SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1), '\x'::bytea) AS prev \gset a_
INSERT INTO audit_events (at, user_id, username, role, action, record_type, record_id,
		source_ip, outcome, detail, prev_hash, hash)
	VALUES (clock_timestamp(), :uid, 'pgbench', 'dispatcher', 'incident.create', 'incident', :i_number,
		'127.0.0.1', 'ok', jsonb_build_object('priority', :priority::int, 'type_id', :type::bigint), :a_prev::bytea,
		sha256(:a_prev::bytea || convert_to(concat_ws('|', clock_timestamp()::text, :uid::text, 'incident.create', :i_number::text), 'UTF8')))
	RETURNING id \gset au_
COMMIT;
