-- Back to the report rollups as they were before 0027 (0008, 0009, 0011, 0019,
-- in their latest form), empty and not kept: without the app_settings
-- rows 'rollup_time_zone' and 'dash_rollup_targets' the triggers do
-- nothing and reports read the incidents, until the previous release's
-- EnsureRollups (serve, migrate and seed call it at start) rebuilds them.

-- Types (0008, 0009; dash_row with 0019's priority).
CREATE TYPE rollup_contrib AS (
    sign        integer,
    day         date,
    district_id bigint,
    priority    integer,
    is_dv       boolean,
    corrected   boolean,
    secs        integer[] -- per interval: whole seconds rounded up; -1 out of order; NULL missing
);

CREATE TYPE rollup_dur AS (
    day date, month date, district_id bigint, priority integer, is_dv boolean, iv smallint, s integer, n integer
);

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

CREATE TYPE dash_row AS (
    sign integer, day date, month date, dim "char", district_id bigint, dv boolean, key integer, corrected boolean,
    secs integer[], prio_v integer[], miss_v integer[], inc_v integer[], wt_v integer[], win_v integer[], priority integer
);

CREATE TYPE dash_dur AS (
    month date, dim "char", district_id bigint, dv boolean, key integer, iv smallint, s integer, n integer
);

-- Tables (0008, 0009, with 0011's grain columns, which it added last).
CREATE TABLE rollup_cells (
    grain        "char" NOT NULL CHECK (grain IN ('y', 'm', 'd')),
    period       date NOT NULL,
    district_id  bigint NOT NULL,
    priority     integer NOT NULL,
    is_dv        boolean NOT NULL,
    incidents    integer NOT NULL,
    corrected    integer NOT NULL,
    missing      integer[] NOT NULL,
    inconsistent integer[] NOT NULL,
    PRIMARY KEY (grain, period, district_id, priority, is_dv)
);

CREATE TABLE rollup_hist (
    month        date NOT NULL,
    district_id  bigint NOT NULL,
    priority     integer NOT NULL,
    is_dv        boolean NOT NULL,
    iv           smallint NOT NULL,
    n            integer NOT NULL,
    hist         bytea NOT NULL,
    over         integer[] NOT NULL,
    grain        "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    PRIMARY KEY (grain, month, district_id, priority, is_dv, iv)
);

CREATE TABLE rollup_fine (
    iv           smallint NOT NULL,
    district_id  bigint NOT NULL,
    priority     integer NOT NULL,
    is_dv        boolean NOT NULL,
    bucket       smallint NOT NULL,
    month        date NOT NULL,
    counts       bytea NOT NULL,
    grain        "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    PRIMARY KEY (iv, district_id, priority, is_dv, bucket, grain, month) INCLUDE (counts)
);
CREATE INDEX rollup_fine_month_idx ON rollup_fine (month);

CREATE TABLE rollup_days (
    day          date NOT NULL,
    district_id  bigint NOT NULL,
    priority     integer NOT NULL,
    is_dv        boolean NOT NULL,
    iv           smallint NOT NULL,
    vals         bytea NOT NULL,
    PRIMARY KEY (day, district_id, priority, is_dv, iv)
);

CREATE UNLOGGED TABLE rollup_pending (
    xid       bigint NOT NULL,
    contribs  rollup_contrib[] NOT NULL
);
CREATE INDEX rollup_pending_xid_idx ON rollup_pending (xid);

CREATE TABLE dash_cells (
    dim          "char" NOT NULL,
    district_id  bigint NOT NULL,
    dv           boolean NOT NULL,
    month        date NOT NULL,
    key          integer NOT NULL,
    incidents    integer NOT NULL,
    corrected    integer NOT NULL,
    prios        integer[] NOT NULL,
    missing      integer[] NOT NULL,
    inconsistent integer[] NOT NULL,
    with_target  integer[] NOT NULL,
    within       integer[] NOT NULL,
    grain        "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    PRIMARY KEY (dim, district_id, dv, grain, month, key)
);

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
    grain        "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    PRIMARY KEY (dim, district_id, dv, iv, grain, month, key)
);

CREATE TABLE dash_fine (
    dim          "char" NOT NULL,
    district_id  bigint NOT NULL,
    dv           boolean NOT NULL,
    iv           smallint NOT NULL,
    key          integer NOT NULL,
    bucket       smallint NOT NULL,
    month        date NOT NULL,
    counts       bytea NOT NULL,
    grain        "char" NOT NULL DEFAULT 'm' CHECK (grain IN ('y', 'm')),
    PRIMARY KEY (dim, district_id, dv, iv, key, bucket, grain, month) INCLUDE (counts)
);

CREATE TABLE dash_days (
    day          date NOT NULL,
    district_id  bigint NOT NULL,
    is_dv        boolean NOT NULL,
    recs         bytea NOT NULL,
    PRIMARY KEY (day, district_id, is_dv)
);

CREATE UNLOGGED TABLE dash_pending (
    xid       bigint NOT NULL,
    contribs  dash_contrib[] NOT NULL
);
CREATE INDEX dash_pending_xid_idx ON dash_pending (xid);

-- The report rollups' functions (0008; rollup_apply 0011's).
CREATE FUNCTION rollup_secs(a timestamptz, b timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL
                WHEN b < a THEN -1
                ELSE least(ceil(extract(epoch FROM b - a)), 2147483647)::integer END
$$;

CREATE FUNCTION rollup_contrib(sign integer, zone text, received timestamptz, dispatched timestamptz,
    en_route timestamptz, on_scene timestamptz, cleared timestamptz, district_id bigint, priority integer,
    is_dv boolean, corrections integer) RETURNS rollup_contrib
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ROW(sign, (received AT TIME ZONE zone)::date, coalesce(district_id, 0), priority, is_dv, corrections > 0,
        ARRAY[rollup_secs(received, dispatched), rollup_secs(dispatched, en_route), rollup_secs(en_route, on_scene),
              rollup_secs(received, on_scene), rollup_secs(on_scene, cleared), rollup_secs(received, cleared)])::rollup_contrib
$$;

CREATE FUNCTION rollup_vadd(a integer[], b integer[]) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r integer[];
    i integer;
BEGIN
    IF cardinality(a) < cardinality(b) THEN
        r := b; b := a;
    ELSE
        r := a;
    END IF;
    FOR i IN 1 .. coalesce(cardinality(b), 0) LOOP
        r[i] := r[i] + b[i];
    END LOOP;
    RETURN r;
END $$;

CREATE FUNCTION rollup_dense(idx integer[], cnt integer[], len integer) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r integer[];
    i integer;
BEGIN
    r := array_fill(0, ARRAY[greatest(len, (SELECT max(x) FROM unnest(idx) x) + 1)]);
    FOR i IN 1 .. cardinality(idx) LOOP
        r[idx[i] + 1] := r[idx[i] + 1] + cnt[i];
    END LOOP;
    RETURN r;
END $$;

CREATE FUNCTION rollup_merge(a integer[], d integer[]) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r integer[] := a;
    v integer;
    p integer;
BEGIN
    FOREACH v IN ARRAY d LOOP
        IF v >= 0 THEN
            r := r || v;
        ELSE
            p := array_position(r, -v - 1);
            IF p IS NOT NULL THEN
                r[p] := r[cardinality(r)];
                r := r[1:cardinality(r) - 1];
            END IF;
        END IF;
    END LOOP;
    RETURN r;
END $$;

CREATE FUNCTION rollup_pack(a integer[]) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(int4send(x), ''::bytea ORDER BY i), ''::bytea) FROM unnest(a) WITH ORDINALITY u(x, i)
$$;

CREATE FUNCTION rollup_get(b bytea, i integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (get_byte(b, 4 * i) << 24) | (get_byte(b, 4 * i + 1) << 16) | (get_byte(b, 4 * i + 2) << 8) | get_byte(b, 4 * i + 3)
$$;

CREATE FUNCTION rollup_badd(a bytea, d bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r bytea := a;
    v integer;
    i integer;
    n integer := least(length(a), length(d)) / 4;
BEGIN
    IF length(a) < length(d) THEN
        r := r || substring(d FROM length(a) + 1);
    END IF;
    FOR i IN 0 .. n - 1 LOOP
        IF get_byte(d, 4 * i) <> 0 OR get_byte(d, 4 * i + 1) <> 0 OR get_byte(d, 4 * i + 2) <> 0 OR get_byte(d, 4 * i + 3) <> 0 THEN
            v := rollup_get(d, i) + rollup_get(r, i);
            r := overlay(r PLACING int4send(v) FROM 4 * i + 1 FOR 4);
        END IF;
    END LOOP;
    RETURN r;
END $$;

CREATE FUNCTION rollup_bmerge(a bytea, d bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r bytea := a;
    v integer;
    i integer;
    p integer;
    off integer;
    x bytea;
BEGIN
    FOR i IN 0 .. length(d) / 4 - 1 LOOP
        v := rollup_get(d, i);
        IF v >= 0 THEN
            r := r || int4send(v);
            CONTINUE;
        END IF;
        -- The first occurrence on a 4-byte boundary.
        x := int4send(-v - 1);
        off := 0;
        LOOP
            p := position(x IN substring(r FROM off + 1));
            EXIT WHEN p = 0;
            p := off + p - 1; -- 0-based byte offset in r
            IF p % 4 = 0 THEN
                r := overlay(r PLACING substring(r FROM length(r) - 3 FOR 4) FROM p + 1 FOR 4);
                r := substring(r FROM 1 FOR length(r) - 4);
                EXIT;
            END IF;
            off := p + 1;
        END LOOP;
    END LOOP;
    RETURN r;
END $$;

CREATE FUNCTION rollup_apply(c rollup_contrib[]) RETURNS void
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

CREATE FUNCTION rollup_enqueue(c rollup_contrib[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO rollup_pending (xid, contribs) SELECT txid_current(), c WHERE cardinality(c) > 0
$$;

CREATE FUNCTION rollup_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c rollup_contrib[];
BEGIN
    WITH d AS (DELETE FROM rollup_pending WHERE xid = txid_current() RETURNING contribs)
    SELECT array_agg(x) INTO c FROM d CROSS JOIN LATERAL unnest(d.contribs) x;
    PERFORM rollup_apply(c);
    RETURN NULL;
END $$;

CREATE FUNCTION rollup_zone() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT value FROM app_settings WHERE key = 'rollup_time_zone'
$$;

CREATE FUNCTION rollup_incidents_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := rollup_zone();
BEGIN
    IF zone IS NOT NULL THEN
        PERFORM rollup_enqueue(ARRAY(
            SELECT rollup_contrib(1, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, t.is_dv, r.corrections)
            FROM new_rows r JOIN incident_types t ON t.id = r.type_id));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION rollup_incidents_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := rollup_zone();
BEGIN
    IF zone IS NOT NULL THEN
        PERFORM rollup_enqueue(ARRAY(
            SELECT rollup_contrib(-1, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, t.is_dv, r.corrections)
            FROM old_rows r JOIN incident_types t ON t.id = r.type_id));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION rollup_incidents_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := rollup_zone();
BEGIN
    IF zone IS NOT NULL THEN
        PERFORM rollup_enqueue(ARRAY(
            WITH changed AS (
                SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE (o.received_at, o.dispatched_at, o.en_route_at, o.on_scene_at, o.cleared_at, o.district_id,
                       o.priority, o.type_id, o.corrections > 0)
                    IS DISTINCT FROM
                      (n.received_at, n.dispatched_at, n.en_route_at, n.on_scene_at, n.cleared_at, n.district_id,
                       n.priority, n.type_id, n.corrections > 0)
            )
            SELECT rollup_contrib(-1, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, t.is_dv, r.corrections)
            FROM old_rows r JOIN changed USING (id) JOIN incident_types t ON t.id = r.type_id
            UNION ALL
            SELECT rollup_contrib(1, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, t.is_dv, r.corrections)
            FROM new_rows r JOIN changed USING (id) JOIN incident_types t ON t.id = r.type_id));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION rollup_incidents_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE rollup_cells, rollup_hist, rollup_fine, rollup_days;
    DELETE FROM rollup_pending WHERE xid = txid_current();
    RETURN NULL;
END $$;

CREATE FUNCTION rollup_types_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text := rollup_zone();
BEGIN
    IF zone IS NOT NULL THEN
        PERFORM rollup_enqueue(ARRAY(
            SELECT rollup_contrib(s.sign, zone, r.received_at, r.dispatched_at, r.en_route_at, r.on_scene_at, r.cleared_at,
                r.district_id, r.priority, s.is_dv, r.corrections)
            FROM incidents r CROSS JOIN (VALUES (-1, OLD.is_dv), (1, NEW.is_dv)) s(sign, is_dv)
            WHERE r.type_id = NEW.id));
    END IF;
    RETURN NULL;
END $$;

-- The dashboard rollups' functions (0009; dash_targets, dash_record,
-- dash_apply, dash_flush and dash_priorities_changed 0019's).
CREATE FUNCTION dash_targets() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT 'by-effective-date'::text
$$;

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

CREATE FUNCTION dash_record(c dash_contrib) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT int4send((c.priority & 15) | (c.corrected::integer << 4) | (c.sex << 5) | (c.band << 8) | (c.hour << 11)
            | ((c.priority >> 4) << 19))
        || int4send(c.settlement)
        || int4send(coalesce(c.secs[1], -2)) || int4send(coalesce(c.secs[2], -2)) || int4send(coalesce(c.secs[3], -2))
        || int4send(coalesce(c.secs[4], -2)) || int4send(coalesce(c.secs[5], -2)) || int4send(coalesce(c.secs[6], -2))
$$;

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

CREATE FUNCTION dash_enqueue(c dash_contrib[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO dash_pending (xid, contribs) SELECT txid_current(), c WHERE cardinality(c) > 0
$$;

CREATE FUNCTION dash_flush() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE FUNCTION dash_priorities_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app_settings WHERE key = 'dash_rollup_targets';
    RETURN NULL;
END $$;

-- 0019's target-change functions, which re-judge the dashboard rollups
-- and date a direct change in the rollups' zone.
CREATE OR REPLACE FUNCTION priority_targets_changed(old_rows priority_targets[], new_rows priority_targets[]) RETURNS void
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

CREATE OR REPLACE FUNCTION priorities_targets_set() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- The triggers.
CREATE CONSTRAINT TRIGGER rollup_flush AFTER INSERT ON rollup_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rollup_flush();
CREATE TRIGGER rollup_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_incidents_insert();
CREATE TRIGGER rollup_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_incidents_update();
CREATE TRIGGER rollup_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_incidents_delete();
CREATE TRIGGER rollup_truncate AFTER TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_incidents_truncate();
CREATE TRIGGER rollup_type_is_dv AFTER UPDATE OF is_dv ON incident_types
    FOR EACH ROW WHEN (OLD.is_dv IS DISTINCT FROM NEW.is_dv) EXECUTE FUNCTION rollup_types_update();
CREATE CONSTRAINT TRIGGER dash_flush AFTER INSERT ON dash_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dash_flush();
CREATE TRIGGER dash_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dash_incidents_insert();
CREATE TRIGGER dash_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dash_incidents_update();
CREATE TRIGGER dash_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION dash_incidents_delete();
CREATE TRIGGER dash_truncate AFTER TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION dash_incidents_truncate();
CREATE TRIGGER dash_type_is_dv AFTER UPDATE OF is_dv ON incident_types
    FOR EACH ROW WHEN (OLD.is_dv IS DISTINCT FROM NEW.is_dv) EXECUTE FUNCTION dash_types_update();
CREATE TRIGGER dash_priorities_changed AFTER UPDATE OF level ON priorities
    FOR EACH ROW WHEN (OLD.level IS DISTINCT FROM NEW.level) EXECUTE FUNCTION dash_priorities_changed();
