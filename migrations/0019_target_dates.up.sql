-- Targets with effective dates, and priority levels beyond 9 (issue 15).
--
-- A priority's targets now have a history: priority_targets holds, per
-- level, the targets in force from a local day (in the deployment's zone,
-- the rollups' zone) on; the first row of a level runs from '-infinity'.
-- An incident is judged against the targets in force on the local day it
-- was received (priority_targets_at), so raising a target no longer
-- rewrites the past. priorities.target_* stay as the targets of each
-- level's latest change (the board, the metrics, the admin list show
-- them); triggers keep the two in step either way:
--   * a new priority gets its first row ('-infinity') from its targets;
--   * a direct UPDATE of priorities.target_* is a change from today;
--   * any change of priority_targets sets priorities.target_* to the
--     latest row's and re-judges, in the dashboard rollups (whose
--     within-target counts are made when an incident is written), the
--     incidents received from the earliest day it touches on, in the same
--     transaction. The dashboard never leaves its rollups for a target
--     change. The report rollups keep per-priority histograms and judge
--     when read (internal/postgres/rollups.go splits the range at the
--     changes).
-- dash_apply now judges at commit (its flush waits for a concurrent
-- re-judge first), against priority_targets_at.
--
-- Priority levels may run from 1 to 999: dash_cells.prios grows with the
-- levels it counts, and dash_record keeps the level's bits above 15 in
-- bits 19 and up of its first word (0 for every record written before).

ALTER TABLE priorities DROP CONSTRAINT priorities_level_check,
    ADD CONSTRAINT priorities_level_check CHECK (level BETWEEN 1 AND 999);

CREATE TABLE priority_targets (
    level                     integer NOT NULL REFERENCES priorities (level) ON UPDATE CASCADE ON DELETE CASCADE,
    effective_from            date NOT NULL, -- local day; '-infinity' for a level's first targets
    target_call_processing_s  integer CHECK (target_call_processing_s > 0),
    target_turnout_s          integer CHECK (target_turnout_s > 0),
    target_travel_s           integer CHECK (target_travel_s > 0),
    target_response_s         integer CHECK (target_response_s > 0),
    target_on_scene_s         integer CHECK (target_on_scene_s > 0),
    target_total_s            integer CHECK (target_total_s > 0),
    created_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (level, effective_from)
);
INSERT INTO priority_targets (level, effective_from, target_call_processing_s, target_turnout_s, target_travel_s,
    target_response_s, target_on_scene_s, target_total_s)
SELECT level, '-infinity', target_call_processing_s, target_turnout_s, target_travel_s, target_response_s,
    target_on_scene_s, target_total_s
FROM priorities;

-- The targets of level lvl in force on local day day, per interval (0008's
-- order); NULL when the level has none then.
CREATE FUNCTION priority_targets_at(lvl integer, day date) RETURNS integer[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ARRAY[t.target_call_processing_s, t.target_turnout_s, t.target_travel_s, t.target_response_s,
                 t.target_on_scene_s, t.target_total_s]
    FROM priority_targets t WHERE t.level = lvl AND t.effective_from <= day
    ORDER BY t.effective_from DESC LIMIT 1
$$;

-- The dashboard rollups' counts were made against the current targets,
-- which are now every level's '-infinity' row: they stay kept, under the
-- new rule. dash_targets() names the rule rather than the targets.
UPDATE app_settings SET value = 'by-effective-date', updated_at = now()
WHERE key = 'dash_rollup_targets' AND value = dash_targets();
CREATE OR REPLACE FUNCTION dash_targets() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT 'by-effective-date'::text
$$;

-- Only a renumbered level stops the dashboard rollups now (its incidents'
-- old contributions can no longer be judged); a target change re-judges.
DROP TRIGGER dash_priorities_changed ON priorities;
CREATE OR REPLACE FUNCTION dash_priorities_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app_settings WHERE key = 'dash_rollup_targets';
    RETURN NULL;
END $$;
CREATE TRIGGER dash_priorities_changed AFTER UPDATE OF level ON priorities
    FOR EACH ROW WHEN (OLD.level IS DISTINCT FROM NEW.level) EXECUTE FUNCTION dash_priorities_changed();

-- Re-judges the incidents a change of priority_targets (old_rows replaced
-- by new_rows) touches, in dash_cells, and copies each touched level's
-- latest targets to priorities.
CREATE FUNCTION priority_targets_changed(old_rows priority_targets[], new_rows priority_targets[]) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    zone text;
BEGIN
    UPDATE priorities p SET target_call_processing_s = l.target_call_processing_s, target_turnout_s = l.target_turnout_s,
        target_travel_s = l.target_travel_s, target_response_s = l.target_response_s,
        target_on_scene_s = l.target_on_scene_s, target_total_s = l.target_total_s
    FROM (SELECT DISTINCT ON (t.level) t.* FROM priority_targets t
          WHERE t.level IN (SELECT o.level FROM unnest(old_rows) o UNION SELECT n.level FROM unnest(new_rows) n)
          ORDER BY t.level, t.effective_from DESC) l
    WHERE p.level = l.level
        AND (p.target_call_processing_s, p.target_turnout_s, p.target_travel_s, p.target_response_s, p.target_on_scene_s,
             p.target_total_s)
            IS DISTINCT FROM
            (l.target_call_processing_s, l.target_turnout_s, l.target_travel_s, l.target_response_s, l.target_on_scene_s,
             l.target_total_s);

    zone := dash_zone();
    IF zone IS NULL THEN
        RETURN;
    END IF;
    -- A level without incidents (a new one) has nothing to re-judge: the
    -- rollups' year cells say so without reading the incidents.
    IF NOT EXISTS (SELECT 1 FROM rollup_cells rc WHERE rc.grain = 'y' AND rc.incidents <> 0
                   AND rc.priority IN (SELECT o.level FROM unnest(old_rows) o UNION SELECT n.level FROM unnest(new_rows) n)) THEN
        RETURN;
    END IF;
    -- Flushes wait (dash_flush), so that none judges against the targets
    -- this transaction replaces; the statement below, begun after the
    -- lock, sees every incident committed before it.
    LOCK TABLE dash_cells IN EXCLUSIVE MODE;
    WITH touched AS (
        SELECT x.level, min(x.effective_from) AS since
        FROM (SELECT o.level, o.effective_from FROM unnest(old_rows) o
              UNION ALL SELECT n.level, n.effective_from FROM unnest(new_rows) n) x
        GROUP BY x.level
    ), before AS MATERIALIZED (
        SELECT t.* FROM priority_targets t
        WHERE NOT EXISTS (SELECT 1 FROM unnest(new_rows) n WHERE n.level = t.level AND n.effective_from = t.effective_from)
        UNION ALL
        SELECT o.* FROM unnest(old_rows) o
    ), judged AS MATERIALIZED ( -- each incident judged once
        SELECT c.day, c.district_id, c.is_dv, c.settlement, c.sex, c.band, c.hour, c.secs,
            (SELECT ARRAY[b.target_call_processing_s, b.target_turnout_s, b.target_travel_s, b.target_response_s,
                          b.target_on_scene_s, b.target_total_s]
             FROM before b WHERE b.level = c.priority AND b.effective_from <= c.day
             ORDER BY b.effective_from DESC LIMIT 1) AS old_tgt,
            priority_targets_at(c.priority, c.day) AS new_tgt
        FROM incidents i
        JOIN touched tc ON tc.level = i.priority AND i.received_at >= (tc.since::timestamp AT TIME ZONE zone)
        JOIN incident_types ty ON ty.id = i.type_id
        CROSS JOIN LATERAL dash_contrib(1, zone, i.received_at, i.dispatched_at, i.en_route_at, i.on_scene_at, i.cleared_at,
            i.district_id, i.priority, ty.is_dv, i.corrections, i.settlement_id, i.victim_sex, i.victim_age, NULL::priorities) c
    ), delta AS MATERIALIZED (
        SELECT j.*,
            ARRAY(SELECT coalesce(j.secs[i] >= 0 AND j.new_tgt[i] IS NOT NULL, false)::integer
                       - coalesce(j.secs[i] >= 0 AND j.old_tgt[i] IS NOT NULL, false)::integer
                  FROM generate_series(1, 6) i ORDER BY i) AS wt_v,
            ARRAY(SELECT coalesce(j.secs[i] >= 0 AND j.secs[i] <= j.new_tgt[i], false)::integer
                       - coalesce(j.secs[i] >= 0 AND j.secs[i] <= j.old_tgt[i], false)::integer
                  FROM generate_series(1, 6) i ORDER BY i) AS win_v
        FROM judged j
        WHERE j.old_tgt IS DISTINCT FROM j.new_tgt
    )
    UPDATE dash_cells t SET with_target = rollup_vadd(t.with_target, s.wt), within = rollup_vadd(t.within, s.win)
    FROM (
        SELECT dm.dim, sc.district_id, sc.dv, g.grain, g.month, dm.key,
            ARRAY[sum(v.wt_v[1]), sum(v.wt_v[2]), sum(v.wt_v[3]), sum(v.wt_v[4]), sum(v.wt_v[5]), sum(v.wt_v[6])]::integer[] AS wt,
            ARRAY[sum(v.win_v[1]), sum(v.win_v[2]), sum(v.win_v[3]), sum(v.win_v[4]), sum(v.win_v[5]), sum(v.win_v[6])]::integer[] AS win
        FROM delta v
        CROSS JOIN LATERAL (VALUES ('s'::"char", v.settlement), ('w', dash_week(v.day)), ('x', v.sex), ('a', v.band),
            ('h', v.hour)) dm(dim, key)
        CROSS JOIN LATERAL (VALUES (0::bigint, false, false), (v.district_id, false, true), (0::bigint, true, false),
            (v.district_id, true, true)) sc(district_id, dv, own)
        CROSS JOIN LATERAL (VALUES ('y'::"char", date_trunc('year', v.day)::date), ('m', date_trunc('month', v.day)::date))
            g(grain, month)
        WHERE (NOT sc.own OR v.district_id <> 0) AND (NOT sc.dv OR v.is_dv)
        GROUP BY 1, 2, 3, 4, 5, 6
    ) s
    WHERE t.dim = s.dim AND t.district_id = s.district_id AND t.dv = s.dv AND t.grain = s.grain AND t.month = s.month
        AND t.key = s.key;
END $$;

CREATE FUNCTION priority_targets_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM priority_targets_changed('{}'::priority_targets[], ARRAY(SELECT n::priority_targets FROM new_rows n));
    RETURN NULL;
END $$;
CREATE FUNCTION priority_targets_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM priority_targets_changed(ARRAY(SELECT o::priority_targets FROM old_rows o), ARRAY(SELECT n::priority_targets FROM new_rows n));
    RETURN NULL;
END $$;
CREATE FUNCTION priority_targets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM priority_targets_changed(ARRAY(SELECT o::priority_targets FROM old_rows o), '{}'::priority_targets[]);
    RETURN NULL;
END $$;
CREATE TRIGGER priority_targets_insert AFTER INSERT ON priority_targets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION priority_targets_inserted();
CREATE TRIGGER priority_targets_update AFTER UPDATE ON priority_targets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION priority_targets_updated();
CREATE TRIGGER priority_targets_delete AFTER DELETE ON priority_targets
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION priority_targets_deleted();

-- A new priority's targets apply from the beginning.
CREATE FUNCTION priorities_first_targets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO priority_targets (level, effective_from, target_call_processing_s, target_turnout_s, target_travel_s,
        target_response_s, target_on_scene_s, target_total_s)
    VALUES (NEW.level, '-infinity', NEW.target_call_processing_s, NEW.target_turnout_s, NEW.target_travel_s,
        NEW.target_response_s, NEW.target_on_scene_s, NEW.target_total_s)
    ON CONFLICT (level, effective_from) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER priorities_first_targets AFTER INSERT ON priorities
    FOR EACH ROW EXECUTE FUNCTION priorities_first_targets();

-- Targets written to priorities directly (not by priority_targets_changed)
-- are a change from today, local time.
CREATE FUNCTION priorities_targets_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL; -- priority_targets_changed copying the latest row
    END IF;
    INSERT INTO priority_targets AS t (level, effective_from, target_call_processing_s, target_turnout_s, target_travel_s,
        target_response_s, target_on_scene_s, target_total_s)
    VALUES (NEW.level, (now() AT TIME ZONE coalesce(rollup_zone(), 'UTC'))::date, NEW.target_call_processing_s,
        NEW.target_turnout_s, NEW.target_travel_s, NEW.target_response_s, NEW.target_on_scene_s, NEW.target_total_s)
    ON CONFLICT (level, effective_from) DO UPDATE SET target_call_processing_s = excluded.target_call_processing_s,
        target_turnout_s = excluded.target_turnout_s, target_travel_s = excluded.target_travel_s,
        target_response_s = excluded.target_response_s, target_on_scene_s = excluded.target_on_scene_s,
        target_total_s = excluded.target_total_s;
    RETURN NULL;
END $$;
CREATE TRIGGER priorities_targets_set AFTER UPDATE ON priorities
    FOR EACH ROW WHEN ((OLD.target_call_processing_s, OLD.target_turnout_s, OLD.target_travel_s, OLD.target_response_s,
        OLD.target_on_scene_s, OLD.target_total_s) IS DISTINCT FROM (NEW.target_call_processing_s, NEW.target_turnout_s,
        NEW.target_travel_s, NEW.target_response_s, NEW.target_on_scene_s, NEW.target_total_s))
    EXECUTE FUNCTION priorities_targets_set();

-- dash_record with levels above 15: the level's low 4 bits where they
-- were, the rest from bit 19 (above the hour).
CREATE OR REPLACE FUNCTION dash_record(c dash_contrib) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT int4send((c.priority & 15) | (c.corrected::integer << 4) | (c.sex << 5) | (c.band << 8) | (c.hour << 11)
            | ((c.priority >> 4) << 19))
        || int4send(c.settlement)
        || int4send(coalesce(c.secs[1], -2)) || int4send(coalesce(c.secs[2], -2)) || int4send(coalesce(c.secs[3], -2))
        || int4send(coalesce(c.secs[4], -2)) || int4send(coalesce(c.secs[5], -2)) || int4send(coalesce(c.secs[6], -2))
$$;

-- At commit: waits for a re-judge under way (priority_targets_changed),
-- then applies the transaction's queue.
CREATE OR REPLACE FUNCTION dash_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c dash_contrib[];
BEGIN
    WITH d AS (DELETE FROM dash_pending WHERE xid = txid_current() RETURNING contribs)
    SELECT array_agg(x) INTO c FROM d CROSS JOIN LATERAL unnest(d.contribs) x;
    IF c IS NOT NULL AND dash_state() IS NOT NULL THEN
        LOCK TABLE dash_cells IN ROW EXCLUSIVE MODE;
        PERFORM dash_apply(c);
    END IF;
    RETURN NULL;
END $$;

-- The row a contribution counts in, with its level (prios is built from
-- it, as long as the levels need).
ALTER TYPE dash_row ADD ATTRIBUTE priority integer;

-- 0011's dash_apply, judging each incident against the targets in force on
-- its local day (not those of dash_contrib's tgt) and counting any level.
CREATE OR REPLACE FUNCTION dash_apply(c dash_contrib[]) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    xs dash_row[];
    durs dash_dur[];
    r record;
BEGIN
    IF c IS NULL OR cardinality(c) = 0 THEN
        RETURN;
    END IF;

    -- Every contribution in each dimension and scope.
    xs := ARRAY(
        WITH v AS (
            SELECT x.*,
                ARRAY(SELECT x.sign * (x.secs[i] IS NULL)::integer FROM generate_series(1, 6) i ORDER BY i) AS miss_v,
                ARRAY(SELECT x.sign * (x.secs[i] IS NOT DISTINCT FROM -1)::integer FROM generate_series(1, 6) i ORDER BY i) AS inc_v,
                ARRAY(SELECT x.sign * coalesce(x.secs[i] >= 0 AND x.tgt[i] IS NOT NULL, false)::integer
                      FROM generate_series(1, 6) i ORDER BY i) AS wt_v,
                ARRAY(SELECT x.sign * coalesce(x.secs[i] >= 0 AND x.secs[i] <= x.tgt[i], false)::integer
                      FROM generate_series(1, 6) i ORDER BY i) AS win_v
            FROM (SELECT x.sign, x.day, x.district_id, x.is_dv, x.corrected, x.priority, x.settlement, x.sex, x.band,
                      x.hour, x.secs, priority_targets_at(x.priority, x.day) AS tgt
                  FROM unnest(c) x) x
        )
        SELECT ROW(v.sign, v.day, date_trunc('month', v.day)::date, d.dim, s.district_id, s.dv, d.key, v.corrected, v.secs,
            '{}'::integer[], v.miss_v, v.inc_v, v.wt_v, v.win_v, v.priority)::dash_row
        FROM v
        CROSS JOIN LATERAL (VALUES ('s'::"char", v.settlement), ('w', dash_week(v.day)), ('x', v.sex), ('a', v.band),
            ('h', v.hour)) d(dim, key)
        CROSS JOIN LATERAL (VALUES (0::bigint, false, false), (v.district_id, false, true), (0::bigint, true, false),
            (v.district_id, true, true)) s(district_id, dv, own)
        WHERE (NOT s.own OR v.district_id <> 0) AND (NOT s.dv OR v.is_dv));

    INSERT INTO dash_cells AS t (dim, district_id, dv, grain, month, key, incidents, corrected, prios, missing, inconsistent,
        with_target, within)
    SELECT * FROM (
        SELECT x.dim, x.district_id, x.dv, g.grain, g.month, x.key, sum(sign)::integer AS incidents,
            coalesce(sum(sign) FILTER (WHERE corrected), 0)::integer AS corrected,
            rollup_dense(array_agg(x.priority - 1), array_agg(x.sign), 9) AS prios,
            ARRAY[sum(miss_v[1]), sum(miss_v[2]), sum(miss_v[3]), sum(miss_v[4]), sum(miss_v[5]), sum(miss_v[6])]::integer[] AS missing, ARRAY[sum(inc_v[1]), sum(inc_v[2]), sum(inc_v[3]), sum(inc_v[4]), sum(inc_v[5]), sum(inc_v[6])]::integer[] AS inconsistent, ARRAY[sum(wt_v[1]), sum(wt_v[2]), sum(wt_v[3]), sum(wt_v[4]), sum(wt_v[5]), sum(wt_v[6])]::integer[] AS with_target, ARRAY[sum(win_v[1]), sum(win_v[2]), sum(win_v[3]), sum(win_v[4]), sum(win_v[5]), sum(win_v[6])]::integer[] AS within
        FROM unnest(xs) x
        CROSS JOIN LATERAL (VALUES ('y'::"char", date_trunc('year', x.month)::date), ('m', x.month)) g(grain, month)
        GROUP BY 1, 2, 3, 4, 5, 6
    ) s
    WHERE s.incidents <> 0 OR s.corrected <> 0 OR s.prios <> array_fill(0, ARRAY[cardinality(s.prios)]) OR s.missing <> '{0,0,0,0,0,0}'
        OR s.inconsistent <> '{0,0,0,0,0,0}' OR s.with_target <> '{0,0,0,0,0,0}' OR s.within <> '{0,0,0,0,0,0}'
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (dim, district_id, dv, grain, month, key) DO UPDATE SET
        incidents = t.incidents + excluded.incidents, corrected = t.corrected + excluded.corrected,
        prios = rollup_vadd(t.prios, excluded.prios), missing = rollup_vadd(t.missing, excluded.missing),
        inconsistent = rollup_vadd(t.inconsistent, excluded.inconsistent),
        with_target = rollup_vadd(t.with_target, excluded.with_target), within = rollup_vadd(t.within, excluded.within);

    durs := ARRAY(
        SELECT ROW(x.month, x.dim, x.district_id, x.dv, x.key, (i - 1)::smallint, x.secs[i], sum(x.sign)::integer)::dash_dur
        FROM unnest(xs) x CROSS JOIN (VALUES (4)) v(i) -- the response only
        WHERE x.secs[i] >= 0
        GROUP BY x.month, x.dim, x.district_id, x.dv, x.key, i, x.secs[i]
        HAVING sum(x.sign) <> 0);
    IF cardinality(durs) > 0 THEN
        -- Each duration in its month's rows and its year's.
        WITH p AS (
            SELECT d.dim, d.district_id, d.dv, d.iv, g.grain, g.month, d.key, d.s, d.n
            FROM unnest(durs) d
            CROSS JOIN LATERAL (VALUES ('y'::"char", date_trunc('year', d.month)::date), ('m', d.month)) g(grain, month)
        )
        INSERT INTO dash_hist AS t (dim, district_id, dv, iv, grain, month, key, n, hist, over)
        SELECT m.dim, m.district_id, m.dv, m.iv, m.grain, m.month, m.key, m.n, coalesce(h.hist, ''::bytea), coalesce(o.over, '{}')
        FROM (SELECT dim, district_id, dv, iv, grain, month, key, sum(n)::integer AS n FROM p GROUP BY 1, 2, 3, 4, 5, 6, 7) m
        LEFT JOIN (
            SELECT dim, district_id, dv, iv, grain, month, key, rollup_pack(rollup_dense(array_agg(b), array_agg(n), 0)) AS hist
            FROM (SELECT dim, district_id, dv, iv, grain, month, key, s / 60 AS b, sum(n)::integer AS n
                  FROM p WHERE s < 86400 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0) b
            GROUP BY 1, 2, 3, 4, 5, 6, 7
        ) h USING (dim, district_id, dv, iv, grain, month, key)
        LEFT JOIN (
            SELECT dim, district_id, dv, iv, grain, month, key, array_agg(CASE WHEN d.n > 0 THEN d.s ELSE -d.s - 1 END) AS over
            FROM p d CROSS JOIN generate_series(1, abs(d.n))
            WHERE d.s >= 86400 GROUP BY 1, 2, 3, 4, 5, 6, 7
        ) o USING (dim, district_id, dv, iv, grain, month, key)
        WHERE m.n <> 0 OR h.hist IS NOT NULL OR o.over IS NOT NULL
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (dim, district_id, dv, iv, grain, month, key) DO UPDATE SET
            n = t.n + excluded.n, hist = rollup_badd(t.hist, excluded.hist), over = rollup_merge(t.over, excluded.over);

        INSERT INTO dash_fine AS t (dim, district_id, dv, iv, key, bucket, grain, month, counts)
        SELECT dim, district_id, dv, iv, key, b, grain, month, rollup_pack(rollup_dense(array_agg(sec), array_agg(n), 60))
        FROM (SELECT d.dim, d.district_id, d.dv, d.iv, d.key, (d.s / 60)::smallint AS b, g.grain, g.month, d.s % 60 AS sec,
                  sum(d.n)::integer AS n
              FROM unnest(durs) d
              CROSS JOIN LATERAL (VALUES ('y'::"char", date_trunc('year', d.month)::date), ('m', d.month)) g(grain, month)
              WHERE d.s < 86400 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 HAVING sum(d.n) <> 0) f
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (dim, district_id, dv, iv, key, bucket, grain, month) DO UPDATE SET counts = rollup_badd(t.counts, excluded.counts);
    END IF;

    -- The day records, net of changes that cancel out.
    FOR r IN
        SELECT day, district_id, is_dv, string_agg(rec, ''::bytea) FILTER (WHERE n > 0) AS adds,
            string_agg(rec, ''::bytea) FILTER (WHERE n < 0) AS dels
        FROM (SELECT x.day, x.district_id, x.is_dv, dash_record(x) AS rec, sum(x.sign) AS n
              FROM unnest(c) x GROUP BY 1, 2, 3, 4 HAVING sum(x.sign) <> 0) g
        CROSS JOIN generate_series(1, abs(g.n)::integer)
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
    LOOP
        INSERT INTO dash_days AS t (day, district_id, is_dv, recs) VALUES (r.day, r.district_id, r.is_dv, dash_recmerge(NULL, r.adds, r.dels))
        ON CONFLICT (day, district_id, is_dv) DO UPDATE SET recs = dash_recmerge(t.recs, r.adds, r.dels);
    END LOOP;
END $$;
