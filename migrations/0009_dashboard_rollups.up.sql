-- Dashboard rollups (internal/report/ROLLUPS.md, "The dashboard"): the
-- breakdowns of the dashboard by settlement, week, victim's sex, victim's
-- age band and local hour x weekday, kept like 0008's rollups (statement
-- triggers queue, a deferred trigger applies at commit, in key order) so
-- that a year of the dashboard reads a few thousand rows whatever the
-- number of incidents.
--
-- A *dimension* (dim) is one breakdown: 's' settlement (key: settlement id,
-- 0 none), 'w' ISO week (key: its Monday, days since 2000-01-03), 'x' sex
-- (0 not recorded, 1 female, 2 male, 3 other), 'a' age band (0 not
-- recorded, 1-6 as postgres.AgeBands), 'h' hour (ISO weekday * 24 + local
-- hour). A *scope* is what the rows count: district_id 0 all districts, or
-- one district (dv is always false: a DV-only scope is left for later, it
-- would double the rows). Histograms (dash_hist, dash_fine) are kept for
-- the response alone, the dashboard's default interval: all six, and the
-- hour grid above all, would make dash_fine grow with the incidents (most
-- rows holding one or two). Counts (dash_cells) cover all six.
-- Priority is not a dimension: the share within target is counted when the
-- change is written, against the targets then (dash_targets()); a change
-- of a target stops the dashboard rollups (reads go to the incidents)
-- until they are rebuilt.
--
-- Durations are 0008's: ceil(seconds), -1 out of order, NULL missing.

CREATE TABLE dash_cells (
    dim          "char" NOT NULL,
    district_id  bigint NOT NULL,
    dv           boolean NOT NULL,
    month        date NOT NULL,
    key          integer NOT NULL,
    incidents    integer NOT NULL,
    corrected    integer NOT NULL,
    prios        integer[] NOT NULL, -- incidents per priority level 1-9
    missing      integer[] NOT NULL, -- per interval
    inconsistent integer[] NOT NULL,
    with_target  integer[] NOT NULL, -- measured, and the priority had a target
    within       integer[] NOT NULL, -- of which at most the target
    PRIMARY KEY (dim, district_id, dv, month, key)
);

-- Coarse: counts per 60-second bucket below 24 h (packed, as rollup_hist)
-- and the durations of 24 h and more.
CREATE TABLE dash_hist (
    dim          "char" NOT NULL,
    district_id  bigint NOT NULL,
    dv           boolean NOT NULL,
    iv           smallint NOT NULL,
    month        date NOT NULL,
    key          integer NOT NULL,
    n            integer NOT NULL,
    hist         bytea NOT NULL,
    over         integer[] NOT NULL,
    PRIMARY KEY (dim, district_id, dv, iv, month, key)
);

-- Fine: 60 per-second counts of a bucket (packed), covered by the key.
CREATE TABLE dash_fine (
    dim          "char" NOT NULL,
    district_id  bigint NOT NULL,
    dv           boolean NOT NULL,
    iv           smallint NOT NULL,
    key          integer NOT NULL,
    bucket       smallint NOT NULL,
    month        date NOT NULL,
    counts       bytea NOT NULL,
    PRIMARY KEY (dim, district_id, dv, iv, key, bucket, month) INCLUDE (counts)
);

-- Days: per local day, district (0 none) and is_dv of the type, one packed
-- record of 8 integers per incident (dash_record): the days at the edges
-- of a range are read from here, for every dimension at once.
CREATE TABLE dash_days (
    day          date NOT NULL,
    district_id  bigint NOT NULL,
    is_dv        boolean NOT NULL,
    recs         bytea NOT NULL,
    PRIMARY KEY (day, district_id, is_dv)
);

-- One incident's contribution, added (sign 1) or taken away (-1).
CREATE TYPE dash_contrib AS (
    sign        integer,
    day         date,
    district_id bigint,   -- 0 none
    is_dv       boolean,
    corrected   boolean,
    priority    integer,
    settlement  integer,  -- 0 none
    sex         integer,
    band        integer,
    hour        integer,  -- ISO weekday * 24 + hour
    secs        integer[], -- as rollup_contrib
    tgt         integer[]  -- the priority's target per interval, then
);

-- The targets the within-target counts were made against, as text.
CREATE FUNCTION dash_targets() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce(string_agg(concat_ws(':', level, target_call_processing_s, target_turnout_s, target_travel_s,
        target_response_s, target_on_scene_s, target_total_s), ' ' ORDER BY level), '')
    FROM priorities
$$;

-- The targets the dashboard rollups are kept against; NULL when they are
-- not kept (no zone, or the targets changed since).
CREATE FUNCTION dash_state() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT value FROM app_settings WHERE key = 'dash_rollup_targets'
$$;

CREATE FUNCTION dash_week(day date) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (day - (extract(isodow FROM day)::integer - 1)) - date '2000-01-03'
$$;

CREATE FUNCTION dash_contrib(sign integer, zone text, received timestamptz, dispatched timestamptz,
    en_route timestamptz, on_scene timestamptz, cleared timestamptz, district_id bigint, priority integer,
    is_dv boolean, corrections integer, settlement_id bigint, victim_sex text, victim_age integer, p priorities)
RETURNS dash_contrib LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ROW(sign, (received AT TIME ZONE zone)::date, coalesce(district_id, 0), is_dv, corrections > 0, priority,
        coalesce(settlement_id, 0)::integer,
        CASE victim_sex WHEN 'female' THEN 1 WHEN 'male' THEN 2 WHEN 'other' THEN 3 ELSE 0 END,
        CASE WHEN victim_age BETWEEN 0 AND 17 THEN 1 WHEN victim_age BETWEEN 18 AND 24 THEN 2
             WHEN victim_age BETWEEN 25 AND 34 THEN 3 WHEN victim_age BETWEEN 35 AND 44 THEN 4
             WHEN victim_age BETWEEN 45 AND 59 THEN 5 WHEN victim_age BETWEEN 60 AND 120 THEN 6 ELSE 0 END,
        extract(isodow FROM received AT TIME ZONE zone)::integer * 24 + extract(hour FROM received AT TIME ZONE zone)::integer,
        ARRAY[rollup_secs(received, dispatched), rollup_secs(dispatched, en_route), rollup_secs(en_route, on_scene),
              rollup_secs(received, on_scene), rollup_secs(on_scene, cleared), rollup_secs(received, cleared)],
        ARRAY[p.target_call_processing_s, p.target_turnout_s, p.target_travel_s, p.target_response_s,
              p.target_on_scene_s, p.target_total_s])::dash_contrib
$$;

-- An incident's record in dash_days: 8 packed integers: priority | corrected
-- << 4 | sex << 5 | band << 8 | hour << 11; settlement; the six durations
-- (-1 out of order, -2 missing).
CREATE FUNCTION dash_record(c dash_contrib) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT int4send(c.priority | (c.corrected::integer << 4) | (c.sex << 5) | (c.band << 8) | (c.hour << 11))
        || int4send(c.settlement)
        || int4send(coalesce(c.secs[1], -2)) || int4send(coalesce(c.secs[2], -2)) || int4send(coalesce(c.secs[3], -2))
        || int4send(coalesce(c.secs[4], -2)) || int4send(coalesce(c.secs[5], -2)) || int4send(coalesce(c.secs[6], -2))
$$;

-- Adds records (32 bytes each) to a and takes those of del away (one
-- occurrence each, on a record boundary).
CREATE FUNCTION dash_recmerge(a bytea, add bytea, del bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r bytea := coalesce(a, ''::bytea);
    i integer;
    p integer;
    off integer;
    x bytea;
BEGIN
    FOR i IN 0 .. coalesce(length(del), 0) / 32 - 1 LOOP
        x := substring(del FROM 32 * i + 1 FOR 32);
        off := 0;
        LOOP
            p := position(x IN substring(r FROM off + 1));
            EXIT WHEN p = 0;
            p := off + p - 1;
            IF p % 32 = 0 THEN
                r := overlay(r PLACING substring(r FROM length(r) - 31 FOR 32) FROM p + 1 FOR 32);
                r := substring(r FROM 1 FOR length(r) - 32);
                EXIT;
            END IF;
            off := p + 1;
        END LOOP;
    END LOOP;
    RETURN r || coalesce(add, ''::bytea);
END $$;

-- A contribution in one dimension and scope, its counts per priority level
-- and interval already signed.
CREATE TYPE dash_row AS (
    sign integer, day date, month date, dim "char", district_id bigint, dv boolean, key integer, corrected boolean,
    secs integer[], prio_v integer[], miss_v integer[], inc_v integer[], wt_v integer[], win_v integer[]
);

-- Net count n of duration s of interval iv in a dimension's key and scope.
CREATE TYPE dash_dur AS (
    month date, dim "char", district_id bigint, dv boolean, key integer, iv smallint, s integer, n integer
);

-- Adds contributions to the dashboard rollups, table by table in key order.
CREATE FUNCTION dash_apply(c dash_contrib[]) RETURNS void
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
        CROSS JOIN LATERAL (VALUES (0::bigint, false, false), (v.district_id, false, true)) s(district_id, dv, own)
        WHERE NOT s.own OR v.district_id <> 0);

    INSERT INTO dash_cells AS t (dim, district_id, dv, month, key, incidents, corrected, prios, missing, inconsistent,
        with_target, within)
    SELECT * FROM (
        SELECT dim, district_id, dv, month, key, sum(sign)::integer AS incidents,
            coalesce(sum(sign) FILTER (WHERE corrected), 0)::integer AS corrected,
            ARRAY[sum(prio_v[1]), sum(prio_v[2]), sum(prio_v[3]), sum(prio_v[4]), sum(prio_v[5]), sum(prio_v[6]), sum(prio_v[7]), sum(prio_v[8]), sum(prio_v[9])]::integer[] AS prios, ARRAY[sum(miss_v[1]), sum(miss_v[2]), sum(miss_v[3]), sum(miss_v[4]), sum(miss_v[5]), sum(miss_v[6])]::integer[] AS missing, ARRAY[sum(inc_v[1]), sum(inc_v[2]), sum(inc_v[3]), sum(inc_v[4]), sum(inc_v[5]), sum(inc_v[6])]::integer[] AS inconsistent, ARRAY[sum(wt_v[1]), sum(wt_v[2]), sum(wt_v[3]), sum(wt_v[4]), sum(wt_v[5]), sum(wt_v[6])]::integer[] AS with_target, ARRAY[sum(win_v[1]), sum(win_v[2]), sum(win_v[3]), sum(win_v[4]), sum(win_v[5]), sum(win_v[6])]::integer[] AS within
        FROM unnest(xs) GROUP BY 1, 2, 3, 4, 5
    ) s
    WHERE s.incidents <> 0 OR s.corrected <> 0 OR s.prios <> '{0,0,0,0,0,0,0,0,0}' OR s.missing <> '{0,0,0,0,0,0}'
        OR s.inconsistent <> '{0,0,0,0,0,0}' OR s.with_target <> '{0,0,0,0,0,0}' OR s.within <> '{0,0,0,0,0,0}'
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (dim, district_id, dv, month, key) DO UPDATE SET
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
        INSERT INTO dash_hist AS t (dim, district_id, dv, iv, month, key, n, hist, over)
        SELECT m.dim, m.district_id, m.dv, m.iv, m.month, m.key, m.n, coalesce(h.hist, ''::bytea), coalesce(o.over, '{}')
        FROM (SELECT dim, district_id, dv, iv, month, key, sum(n)::integer AS n FROM unnest(durs) GROUP BY 1, 2, 3, 4, 5, 6) m
        LEFT JOIN (
            SELECT dim, district_id, dv, iv, month, key, rollup_pack(rollup_dense(array_agg(b), array_agg(n), 0)) AS hist
            FROM (SELECT dim, district_id, dv, iv, month, key, s / 60 AS b, sum(n)::integer AS n
                  FROM unnest(durs) WHERE s < 86400 GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0) b
            GROUP BY 1, 2, 3, 4, 5, 6
        ) h USING (dim, district_id, dv, iv, month, key)
        LEFT JOIN (
            SELECT dim, district_id, dv, iv, month, key, array_agg(CASE WHEN d.n > 0 THEN d.s ELSE -d.s - 1 END) AS over
            FROM unnest(durs) d CROSS JOIN generate_series(1, abs(d.n))
            WHERE d.s >= 86400 GROUP BY 1, 2, 3, 4, 5, 6
        ) o USING (dim, district_id, dv, iv, month, key)
        WHERE m.n <> 0 OR h.hist IS NOT NULL OR o.over IS NOT NULL
        ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (dim, district_id, dv, iv, month, key) DO UPDATE SET
            n = t.n + excluded.n, hist = rollup_badd(t.hist, excluded.hist), over = rollup_merge(t.over, excluded.over);

        INSERT INTO dash_fine AS t (dim, district_id, dv, iv, key, bucket, month, counts)
        SELECT dim, district_id, dv, iv, key, b, month, rollup_pack(rollup_dense(array_agg(sec), array_agg(n), 60))
        FROM (SELECT dim, district_id, dv, iv, key, (s / 60)::smallint AS b, month, s % 60 AS sec, sum(n)::integer AS n
              FROM unnest(durs) WHERE s < 86400 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(n) <> 0) f
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT (dim, district_id, dv, iv, key, bucket, month) DO UPDATE SET counts = rollup_badd(t.counts, excluded.counts);
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

-- Changes waiting for their transaction's commit.
CREATE UNLOGGED TABLE dash_pending (
    xid       bigint NOT NULL,
    contribs  dash_contrib[] NOT NULL
);
CREATE INDEX dash_pending_xid_idx ON dash_pending (xid);

CREATE FUNCTION dash_enqueue(c dash_contrib[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO dash_pending (xid, contribs) SELECT txid_current(), c WHERE cardinality(c) > 0
$$;

-- At commit: applies the transaction's queue (when the rollups are still
-- kept: a change of targets in the same transaction stops them).
CREATE FUNCTION dash_flush() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE CONSTRAINT TRIGGER dash_flush AFTER INSERT ON dash_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dash_flush();

-- The zone, when the dashboard rollups are kept (NULL otherwise).
CREATE FUNCTION dash_zone() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT rollup_zone() WHERE dash_state() IS NOT NULL
$$;

CREATE FUNCTION dash_incidents_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := dash_zone();
BEGIN
    IF zone IS NOT NULL THEN
        PERFORM dash_enqueue(ARRAY(
            SELECT dash_contrib(1, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, t.is_dv, r.corrections, r.settlement_id, r.victim_sex, r.victim_age, p)
            FROM new_rows r JOIN incident_types t ON t.id = r.type_id LEFT JOIN priorities p ON p.level = r.priority));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION dash_incidents_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := dash_zone();
BEGIN
    IF zone IS NOT NULL THEN
        PERFORM dash_enqueue(ARRAY(
            SELECT dash_contrib(-1, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, t.is_dv, r.corrections, r.settlement_id, r.victim_sex, r.victim_age, p)
            FROM old_rows r JOIN incident_types t ON t.id = r.type_id LEFT JOIN priorities p ON p.level = r.priority));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION dash_incidents_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := dash_zone();
BEGIN
    IF zone IS NOT NULL THEN
        PERFORM dash_enqueue(ARRAY(
            WITH changed AS (
                SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE (o.received_at, o.dispatched_at, o.en_route_at, o.on_scene_at, o.cleared_at, o.district_id,
                       o.priority, o.type_id, o.corrections > 0, o.settlement_id, o.victim_sex, o.victim_age)
                    IS DISTINCT FROM
                      (n.received_at, n.dispatched_at, n.en_route_at, n.on_scene_at, n.cleared_at, n.district_id,
                       n.priority, n.type_id, n.corrections > 0, n.settlement_id, n.victim_sex, n.victim_age)
            )
            SELECT dash_contrib(-1, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, t.is_dv, r.corrections, r.settlement_id, r.victim_sex, r.victim_age, p)
            FROM old_rows r JOIN changed USING (id) JOIN incident_types t ON t.id = r.type_id
                LEFT JOIN priorities p ON p.level = r.priority
            UNION ALL
            SELECT dash_contrib(1, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, t.is_dv, r.corrections, r.settlement_id, r.victim_sex, r.victim_age, p)
            FROM new_rows r JOIN changed USING (id) JOIN incident_types t ON t.id = r.type_id
                LEFT JOIN priorities p ON p.level = r.priority));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION dash_incidents_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE dash_cells, dash_hist, dash_fine, dash_days;
    DELETE FROM dash_pending WHERE xid = txid_current();
    RETURN NULL;
END $$;

CREATE TRIGGER dash_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dash_incidents_insert();
CREATE TRIGGER dash_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dash_incidents_update();
CREATE TRIGGER dash_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dash_incidents_delete();
CREATE TRIGGER dash_truncate AFTER TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION dash_incidents_truncate();

-- A type marked (or unmarked) domestic violence moves its incidents
-- between the scopes.
CREATE FUNCTION dash_types_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := dash_zone();
BEGIN
    IF zone IS NOT NULL THEN
        PERFORM dash_enqueue(ARRAY(
            SELECT dash_contrib(s.sign, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, s.is_dv, r.corrections, r.settlement_id, r.victim_sex, r.victim_age, p)
            FROM incidents r CROSS JOIN (VALUES (-1, OLD.is_dv), (1, NEW.is_dv)) s(sign, is_dv)
                LEFT JOIN priorities p ON p.level = r.priority
            WHERE r.type_id = NEW.id));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER dash_type_is_dv AFTER UPDATE OF is_dv ON incident_types
    FOR EACH ROW WHEN (OLD.is_dv IS DISTINCT FROM NEW.is_dv) EXECUTE FUNCTION dash_types_update();

-- A change of the priorities' levels or targets stops the dashboard
-- rollups: their within-target counts were made against the old ones.
-- Reads go to the incidents until a rebuild (EnsureRollups at start).
CREATE FUNCTION dash_priorities_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app_settings WHERE key = 'dash_rollup_targets' AND value IS DISTINCT FROM dash_targets();
    RETURN NULL;
END $$;

CREATE TRIGGER dash_priorities_changed AFTER INSERT OR UPDATE OR DELETE ON priorities
    FOR EACH STATEMENT EXECUTE FUNCTION dash_priorities_changed();

-- The slowest incidents of a period for each interval: the duration in
-- descending order, measured incidents only.
CREATE INDEX incidents_slow_call_processing_idx ON incidents ((extract(epoch FROM dispatched_at - received_at)::float8) DESC, id)
    WHERE dispatched_at >= received_at;
CREATE INDEX incidents_slow_turnout_idx ON incidents ((extract(epoch FROM en_route_at - dispatched_at)::float8) DESC, id)
    WHERE en_route_at >= dispatched_at;
CREATE INDEX incidents_slow_travel_idx ON incidents ((extract(epoch FROM on_scene_at - en_route_at)::float8) DESC, id)
    WHERE on_scene_at >= en_route_at;
CREATE INDEX incidents_slow_response_idx ON incidents ((extract(epoch FROM on_scene_at - received_at)::float8) DESC, id)
    WHERE on_scene_at >= received_at;
CREATE INDEX incidents_slow_on_scene_idx ON incidents ((extract(epoch FROM cleared_at - on_scene_at)::float8) DESC, id)
    WHERE cleared_at >= on_scene_at;
CREATE INDEX incidents_slow_total_idx ON incidents ((extract(epoch FROM cleared_at - received_at)::float8) DESC, id)
    WHERE cleared_at >= received_at;
