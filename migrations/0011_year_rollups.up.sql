-- Year rows (internal/report/ROLLUPS.md, "Years"): the rollups' month rows
-- summed per local calendar year, so that a year reads one row per cell,
-- interval and bucket instead of twelve. A range is read as whole years,
-- plus or minus months, plus or minus days (counts subtract exactly).
-- The dashboard rollups also gain a domestic-violence-only scope.
--
-- A table's rows are now of a grain: 'y' a year (month: its first day) or
-- 'm' a month (month: its first day); rollup_cells also 'd' a day. The
-- triggers write both grains in the same statement, in key order.
--
-- The rollups are emptied and stop being kept (reports and the dashboard
-- read the incidents, exactly, more slowly) until EnsureRollups rebuilds
-- them with their year rows: serve, migrate and seed call it at start.
DELETE FROM app_settings WHERE key IN ('rollup_time_zone', 'dash_rollup_targets');
TRUNCATE rollup_cells, rollup_hist, rollup_fine, rollup_days, rollup_pending, dash_cells, dash_hist, dash_fine, dash_days,
    dash_pending;

ALTER TABLE rollup_cells DROP CONSTRAINT rollup_cells_grain_check,
    ADD CONSTRAINT rollup_cells_grain_check CHECK (grain IN ('y', 'm', 'd'));

ALTER TABLE rollup_hist ADD COLUMN grain "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    DROP CONSTRAINT rollup_hist_pkey, ADD PRIMARY KEY (grain, month, district_id, priority, is_dv, iv);
ALTER TABLE rollup_fine ADD COLUMN grain "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    DROP CONSTRAINT rollup_fine_pkey,
    ADD PRIMARY KEY (iv, district_id, priority, is_dv, bucket, grain, month) INCLUDE (counts);
ALTER TABLE dash_cells ADD COLUMN grain "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    DROP CONSTRAINT dash_cells_pkey, ADD PRIMARY KEY (dim, district_id, dv, grain, month, key);
ALTER TABLE dash_hist ADD COLUMN grain "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    DROP CONSTRAINT dash_hist_pkey, ADD PRIMARY KEY (dim, district_id, dv, iv, grain, month, key);
ALTER TABLE dash_fine ADD COLUMN grain "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    DROP CONSTRAINT dash_fine_pkey,
    ADD PRIMARY KEY (dim, district_id, dv, iv, key, bucket, grain, month) INCLUDE (counts);

-- 0008's rollup_apply, writing year rows beside month rows.
CREATE OR REPLACE FUNCTION rollup_apply(c rollup_contrib[]) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    durs rollup_dur[];
BEGIN
    IF c IS NULL OR cardinality(c) = 0 THEN
        RETURN;
    END IF;

    INSERT INTO rollup_cells AS t (grain, period, district_id, priority, is_dv, incidents, corrected, missing, inconsistent)
    SELECT * FROM (
        SELECT g.grain, g.period, x.district_id, x.priority, x.is_dv, sum(x.sign)::integer AS incidents,
            coalesce(sum(x.sign) FILTER (WHERE x.corrected), 0)::integer AS corrected,
            ARRAY[sum(x.sign * (x.secs[1] IS NULL)::integer), sum(x.sign * (x.secs[2] IS NULL)::integer),
                  sum(x.sign * (x.secs[3] IS NULL)::integer), sum(x.sign * (x.secs[4] IS NULL)::integer),
                  sum(x.sign * (x.secs[5] IS NULL)::integer), sum(x.sign * (x.secs[6] IS NULL)::integer)]::integer[] AS missing,
            ARRAY[sum(x.sign * (x.secs[1] IS NOT DISTINCT FROM -1)::integer), sum(x.sign * (x.secs[2] IS NOT DISTINCT FROM -1)::integer),
                  sum(x.sign * (x.secs[3] IS NOT DISTINCT FROM -1)::integer), sum(x.sign * (x.secs[4] IS NOT DISTINCT FROM -1)::integer),
                  sum(x.sign * (x.secs[5] IS NOT DISTINCT FROM -1)::integer), sum(x.sign * (x.secs[6] IS NOT DISTINCT FROM -1)::integer)]::integer[] AS inconsistent
        FROM unnest(c) x
        CROSS JOIN LATERAL (VALUES ('y'::"char", date_trunc('year', x.day)::date), ('m', date_trunc('month', x.day)::date),
            ('d', x.day)) g(grain, period)
        GROUP BY 1, 2, 3, 4, 5
    ) s
    WHERE s.incidents <> 0 OR s.corrected <> 0 OR s.missing <> '{0,0,0,0,0,0}' OR s.inconsistent <> '{0,0,0,0,0,0}'
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (grain, period, district_id, priority, is_dv) DO UPDATE SET
        incidents = t.incidents + excluded.incidents, corrected = t.corrected + excluded.corrected,
        missing = rollup_vadd(t.missing, excluded.missing), inconsistent = rollup_vadd(t.inconsistent, excluded.inconsistent);

    -- Measured durations, net of changes that cancel out.
    durs := ARRAY(
        SELECT ROW(x.day, date_trunc('month', x.day)::date, x.district_id, x.priority, x.is_dv, (i - 1)::smallint,
                   x.secs[i], sum(x.sign)::integer)::rollup_dur
        FROM unnest(c) x CROSS JOIN generate_series(1, 6) i
        WHERE x.secs[i] >= 0
        GROUP BY x.day, x.district_id, x.priority, x.is_dv, i, x.secs[i]
        HAVING sum(x.sign) <> 0);
    IF cardinality(durs) = 0 THEN
        RETURN;
    END IF;

    -- Each duration in its month's rows and its year's.
    WITH p AS (
        SELECT g.grain, g.month, d.district_id, d.priority, d.is_dv, d.iv, d.s, d.n
        FROM unnest(durs) d
        CROSS JOIN LATERAL (VALUES ('y'::"char", date_trunc('year', d.month)::date), ('m', d.month)) g(grain, month)
    )
    INSERT INTO rollup_hist AS t (grain, month, district_id, priority, is_dv, iv, n, hist, over)
    SELECT m.grain, m.month, m.district_id, m.priority, m.is_dv, m.iv, m.n, coalesce(h.hist, ''::bytea), coalesce(o.over, '{}')
    FROM (SELECT grain, month, district_id, priority, is_dv, iv, sum(n)::integer AS n FROM p GROUP BY 1, 2, 3, 4, 5, 6) m
    LEFT JOIN (
        SELECT grain, month, district_id, priority, is_dv, iv, rollup_pack(rollup_dense(array_agg(b), array_agg(n), 0)) AS hist
        FROM (SELECT grain, month, district_id, priority, is_dv, iv, s / 60 AS b, sum(n)::integer AS n
              FROM p WHERE s < 86400 GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0) b
        GROUP BY 1, 2, 3, 4, 5, 6
    ) h USING (grain, month, district_id, priority, is_dv, iv)
    LEFT JOIN (
        SELECT grain, month, district_id, priority, is_dv, iv,
            array_agg(CASE WHEN d.n > 0 THEN d.s ELSE -d.s - 1 END) AS over
        FROM p d CROSS JOIN generate_series(1, abs(d.n))
        WHERE d.s >= 86400 GROUP BY 1, 2, 3, 4, 5, 6
    ) o USING (grain, month, district_id, priority, is_dv, iv)
    WHERE m.n <> 0 OR h.hist IS NOT NULL OR o.over IS NOT NULL
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (grain, month, district_id, priority, is_dv, iv) DO UPDATE SET
        n = t.n + excluded.n, hist = rollup_badd(t.hist, excluded.hist), over = rollup_merge(t.over, excluded.over);

    INSERT INTO rollup_fine AS t (iv, district_id, priority, is_dv, bucket, grain, month, counts)
    SELECT iv, district_id, priority, is_dv, b, grain, month, rollup_pack(rollup_dense(array_agg(sec), array_agg(n), 60))
    FROM (SELECT d.iv, d.district_id, d.priority, d.is_dv, (d.s / 60)::smallint AS b, g.grain, g.month, d.s % 60 AS sec,
              sum(d.n)::integer AS n
          FROM unnest(durs) d
          CROSS JOIN LATERAL (VALUES ('y'::"char", date_trunc('year', d.month)::date), ('m', d.month)) g(grain, month)
          WHERE d.s < 86400 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(d.n) <> 0) f
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (iv, district_id, priority, is_dv, bucket, grain, month) DO UPDATE SET counts = rollup_badd(t.counts, excluded.counts);

    INSERT INTO rollup_days AS t (day, district_id, priority, is_dv, iv, vals)
    SELECT day, district_id, priority, is_dv, iv, rollup_pack(array_agg(CASE WHEN d.n > 0 THEN d.s ELSE -d.s - 1 END))
    FROM unnest(durs) d CROSS JOIN generate_series(1, abs(d.n))
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (day, district_id, priority, is_dv, iv) DO UPDATE SET vals = rollup_bmerge(t.vals, excluded.vals);
END $$;

-- 0009's dash_apply, writing year rows beside month rows, and counting a
-- domestic-violence incident in the DV-only scopes too (dv = true: all
-- districts, and its own), which the readers select by the query's DV-only
-- flag. 0009 kept all types only, so the dashboard's "domestic violence
-- only" filter, the one supervisors use most, read the incidents: about
-- 30 s for a year at 10 M incidents.
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
