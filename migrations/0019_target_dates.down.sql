-- Back to one set of targets per priority (the latest change's, which
-- priorities.target_* hold) and levels 1-9. Refuses while a level above 9
-- exists. The dashboard rollups stop being kept (their counts follow the
-- effective dates) until EnsureRollups rebuilds them: serve, migrate and
-- seed call it at start.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM priorities WHERE level > 9) THEN
        RAISE EXCEPTION 'cannot migrate down past 19: priority levels above 9 exist; renumber or delete them first';
    END IF;
END $$;

DELETE FROM app_settings WHERE key = 'dash_rollup_targets';

DROP TRIGGER priorities_targets_set ON priorities;
DROP TRIGGER priorities_first_targets ON priorities;
DROP FUNCTION priorities_targets_set();
DROP FUNCTION priorities_first_targets();
DROP TRIGGER priority_targets_insert ON priority_targets;
DROP TRIGGER priority_targets_update ON priority_targets;
DROP TRIGGER priority_targets_delete ON priority_targets;
DROP FUNCTION priority_targets_inserted();
DROP FUNCTION priority_targets_updated();
DROP FUNCTION priority_targets_deleted();
DROP FUNCTION priority_targets_changed(priority_targets[], priority_targets[]);
DROP TABLE priority_targets;

-- 0011's dash_apply, 0009's dash_flush, dash_record, dash_targets and
-- dash_priorities_changed.
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
                ARRAY(SELECT CASE WHEN l = x.priority THEN x.sign ELSE 0 END FROM generate_series(1, 9) l ORDER BY l) AS prio_v,
                ARRAY(SELECT x.sign * (x.secs[i] IS NULL)::integer FROM generate_series(1, 6) i ORDER BY i) AS miss_v,
                ARRAY(SELECT x.sign * (x.secs[i] IS NOT DISTINCT FROM -1)::integer FROM generate_series(1, 6) i ORDER BY i) AS inc_v,
                ARRAY(SELECT x.sign * coalesce(x.secs[i] >= 0 AND x.tgt[i] IS NOT NULL, false)::integer
                      FROM generate_series(1, 6) i ORDER BY i) AS wt_v,
                ARRAY(SELECT x.sign * coalesce(x.secs[i] >= 0 AND x.secs[i] <= x.tgt[i], false)::integer
                      FROM generate_series(1, 6) i ORDER BY i) AS win_v
            FROM unnest(c) x
        )
        SELECT ROW(v.sign, v.day, date_trunc('month', v.day)::date, d.dim, s.district_id, s.dv, d.key, v.corrected, v.secs,
            v.prio_v, v.miss_v, v.inc_v, v.wt_v, v.win_v)::dash_row
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
            ARRAY[sum(prio_v[1]), sum(prio_v[2]), sum(prio_v[3]), sum(prio_v[4]), sum(prio_v[5]), sum(prio_v[6]), sum(prio_v[7]), sum(prio_v[8]), sum(prio_v[9])]::integer[] AS prios, ARRAY[sum(miss_v[1]), sum(miss_v[2]), sum(miss_v[3]), sum(miss_v[4]), sum(miss_v[5]), sum(miss_v[6])]::integer[] AS missing, ARRAY[sum(inc_v[1]), sum(inc_v[2]), sum(inc_v[3]), sum(inc_v[4]), sum(inc_v[5]), sum(inc_v[6])]::integer[] AS inconsistent, ARRAY[sum(wt_v[1]), sum(wt_v[2]), sum(wt_v[3]), sum(wt_v[4]), sum(wt_v[5]), sum(wt_v[6])]::integer[] AS with_target, ARRAY[sum(win_v[1]), sum(win_v[2]), sum(win_v[3]), sum(win_v[4]), sum(win_v[5]), sum(win_v[6])]::integer[] AS within
        FROM unnest(xs) x
        CROSS JOIN LATERAL (VALUES ('y'::"char", date_trunc('year', x.month)::date), ('m', x.month)) g(grain, month)
        GROUP BY 1, 2, 3, 4, 5, 6
    ) s
    WHERE s.incidents <> 0 OR s.corrected <> 0 OR s.prios <> '{0,0,0,0,0,0,0,0,0}' OR s.missing <> '{0,0,0,0,0,0}'
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

ALTER TYPE dash_row DROP ATTRIBUTE priority;
DROP FUNCTION priority_targets_at(integer, date);

CREATE OR REPLACE FUNCTION dash_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c dash_contrib[];
BEGIN
    WITH d AS (DELETE FROM dash_pending WHERE xid = txid_current() RETURNING contribs)
    SELECT array_agg(x) INTO c FROM d CROSS JOIN LATERAL unnest(d.contribs) x;
    IF dash_state() IS NOT NULL THEN
        PERFORM dash_apply(c);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION dash_record(c dash_contrib) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT int4send(c.priority | (c.corrected::integer << 4) | (c.sex << 5) | (c.band << 8) | (c.hour << 11))
        || int4send(c.settlement)
        || int4send(coalesce(c.secs[1], -2)) || int4send(coalesce(c.secs[2], -2)) || int4send(coalesce(c.secs[3], -2))
        || int4send(coalesce(c.secs[4], -2)) || int4send(coalesce(c.secs[5], -2)) || int4send(coalesce(c.secs[6], -2))
$$;

CREATE OR REPLACE FUNCTION dash_targets() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(concat_ws(':', level, target_call_processing_s, target_turnout_s, target_travel_s,
        target_response_s, target_on_scene_s, target_total_s), ' ' ORDER BY level), '')
    FROM priorities
$$;

DROP TRIGGER dash_priorities_changed ON priorities;
CREATE OR REPLACE FUNCTION dash_priorities_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app_settings WHERE key = 'dash_rollup_targets' AND value IS DISTINCT FROM dash_targets();
    RETURN NULL;
END $$;

CREATE TRIGGER dash_priorities_changed AFTER INSERT OR UPDATE OR DELETE ON priorities
    FOR EACH STATEMENT EXECUTE FUNCTION dash_priorities_changed();

ALTER TABLE priorities DROP CONSTRAINT priorities_level_check,
    ADD CONSTRAINT priorities_level_check CHECK (level BETWEEN 1 AND 9);
