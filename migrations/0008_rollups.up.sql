-- Response-time rollups (internal/report/ROLLUPS.md): exact, per whole
-- second, kept current in the same transaction as every change to an
-- incident. Statement-level triggers on incidents queue each statement's
-- changes; a deferred trigger applies a transaction's queue when it
-- commits, so that the rollup rows are the last locks a writer takes, in
-- key order: writers wait for each other on a shared cell, they never
-- deadlock on it.
--
-- Durations are ceil(seconds) of the stage difference, so a duration is at
-- most its target exactly when its ceiling is, and percentiles are within
-- 1 s of percentile_cont's. Intervals are numbered 0-5 in report order
-- (call processing, turnout, travel, response, on scene, total); -1 in a
-- contribution's secs means out of order, NULL missing.
--
-- Cells are (district_id, 0 for none; priority; is_dv of the type). Periods
-- are local days and months of the zone in app_settings 'rollup_time_zone';
-- without that row the rollups are not maintained and not used.

CREATE TABLE rollup_cells (
    grain        "char" NOT NULL CHECK (grain IN ('m', 'd')), -- month or day
    period       date NOT NULL,      -- the day, or the first of the month
    district_id  bigint NOT NULL,
    priority     integer NOT NULL,
    is_dv        boolean NOT NULL,
    incidents    integer NOT NULL,
    corrected    integer NOT NULL,
    missing      integer[] NOT NULL, -- per interval
    inconsistent integer[] NOT NULL, -- per interval
    PRIMARY KEY (grain, period, district_id, priority, is_dv)
);

-- Counts and durations are kept as packed 4-byte big-endian integers
-- (bytea; "packed" below) rather than int4[]: a report reads hundreds of
-- thousands of them, and PostgreSQL sends an int4[] element by element
-- (tens of nanoseconds each) where it copies a bytea.

-- Coarse: per month, cell and interval, counts per 60-second bucket below
-- 24 h (packed; element b counts durations 60b to 60b+59) and the durations
-- of 24 h and more themselves.
CREATE TABLE rollup_hist (
    month        date NOT NULL,
    district_id  bigint NOT NULL,
    priority     integer NOT NULL,
    is_dv        boolean NOT NULL,
    iv           smallint NOT NULL,
    n            integer NOT NULL,
    hist         bytea NOT NULL,
    over         integer[] NOT NULL,
    PRIMARY KEY (month, district_id, priority, is_dv, iv)
);

-- Fine: per month, cell, interval and non-empty bucket, counts per second
-- (packed; element s counts durations 60*bucket + s). Keyed for the report's lookups,
-- one cell, interval and bucket over a range of months, and covering them
-- (INCLUDE counts), so that the months of a lookup are read from one or two
-- index pages (index-only scan once VACUUM has marked the pages visible).
CREATE TABLE rollup_fine (
    iv           smallint NOT NULL,
    district_id  bigint NOT NULL,
    priority     integer NOT NULL,
    is_dv        boolean NOT NULL,
    bucket       smallint NOT NULL,
    month        date NOT NULL,
    counts       bytea NOT NULL,
    PRIMARY KEY (iv, district_id, priority, is_dv, bucket, month) INCLUDE (counts)
);
CREATE INDEX rollup_fine_month_idx ON rollup_fine (month);

-- Days: per day, cell and interval, the durations themselves (packed,
-- unordered),
-- for the days at the edges of a range and for weekly series.
CREATE TABLE rollup_days (
    day          date NOT NULL,
    district_id  bigint NOT NULL,
    priority     integer NOT NULL,
    is_dv        boolean NOT NULL,
    iv           smallint NOT NULL,
    vals         bytea NOT NULL,
    PRIMARY KEY (day, district_id, priority, is_dv, iv)
);

-- One incident's contribution, added (sign 1) or taken away (-1).
CREATE TYPE rollup_contrib AS (
    sign        integer,
    day         date,
    district_id bigint,
    priority    integer,
    is_dv       boolean,
    corrected   boolean,
    secs        integer[] -- per interval: whole seconds rounded up; -1 out of order; NULL missing
);

-- Net count n of duration s (seconds) of interval iv in a cell on a day.
CREATE TYPE rollup_dur AS (
    day date, month date, district_id bigint, priority integer, is_dv boolean, iv smallint, s integer, n integer
);

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

-- Element-wise sum; the shorter array counts as padded with zeros.
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

-- A dense array of len (at least) counting cnt[k] at index idx[k] (0-based).
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

-- Applies a change list to a multiset of durations: v >= 0 adds v, v < 0
-- takes one -v-1 away.
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

-- Packs integers as 4-byte big-endian (int4send) into a bytea.
CREATE FUNCTION rollup_pack(a integer[]) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(int4send(x), ''::bytea ORDER BY i), ''::bytea) FROM unnest(a) WITH ORDINALITY u(x, i)
$$;

-- Element i (0-based) of a packed bytea.
CREATE FUNCTION rollup_get(b bytea, i integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (get_byte(b, 4 * i) << 24) | (get_byte(b, 4 * i + 1) << 16) | (get_byte(b, 4 * i + 2) << 8) | get_byte(b, 4 * i + 3)
$$;

-- Element-wise sum of packed counts; the shorter counts as padded with
-- zeros. A change is mostly zeros: they are skipped with one test each.
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

-- rollup_merge for packed durations: v >= 0 adds v, v < 0 takes one
-- -v-1 away.
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

-- Adds contributions to the rollups. Rows are written table by table in
-- key order, so that concurrent transactions lock them in the same order.
-- JIT is off: the row estimates of these small statements are far off,
-- and compiling them would take longer than running them.
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
        CROSS JOIN LATERAL (VALUES ('m'::"char", date_trunc('month', x.day)::date), ('d'::"char", x.day)) g(grain, period)
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

    INSERT INTO rollup_hist AS t (month, district_id, priority, is_dv, iv, n, hist, over)
    SELECT m.month, m.district_id, m.priority, m.is_dv, m.iv, m.n, coalesce(h.hist, ''::bytea), coalesce(o.over, '{}')
    FROM (SELECT month, district_id, priority, is_dv, iv, sum(n)::integer AS n FROM unnest(durs) GROUP BY 1, 2, 3, 4, 5) m
    LEFT JOIN (
        SELECT month, district_id, priority, is_dv, iv, rollup_pack(rollup_dense(array_agg(b), array_agg(n), 0)) AS hist
        FROM (SELECT month, district_id, priority, is_dv, iv, s / 60 AS b, sum(n)::integer AS n
              FROM unnest(durs) WHERE s < 86400 GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0) b
        GROUP BY 1, 2, 3, 4, 5
    ) h USING (month, district_id, priority, is_dv, iv)
    LEFT JOIN (
        SELECT month, district_id, priority, is_dv, iv,
            array_agg(CASE WHEN d.n > 0 THEN d.s ELSE -d.s - 1 END) AS over
        FROM unnest(durs) d CROSS JOIN generate_series(1, abs(d.n))
        WHERE d.s >= 86400 GROUP BY 1, 2, 3, 4, 5
    ) o USING (month, district_id, priority, is_dv, iv)
    WHERE m.n <> 0 OR h.hist IS NOT NULL OR o.over IS NOT NULL
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (month, district_id, priority, is_dv, iv) DO UPDATE SET
        n = t.n + excluded.n, hist = rollup_badd(t.hist, excluded.hist), over = rollup_merge(t.over, excluded.over);

    INSERT INTO rollup_fine AS t (iv, district_id, priority, is_dv, bucket, month, counts)
    SELECT iv, district_id, priority, is_dv, b, month, rollup_pack(rollup_dense(array_agg(sec), array_agg(n), 60))
    FROM (SELECT iv, district_id, priority, is_dv, (s / 60)::smallint AS b, month, s % 60 AS sec, sum(n)::integer AS n
          FROM unnest(durs) WHERE s < 86400 GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0) f
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (iv, district_id, priority, is_dv, bucket, month) DO UPDATE SET counts = rollup_badd(t.counts, excluded.counts);

    INSERT INTO rollup_days AS t (day, district_id, priority, is_dv, iv, vals)
    SELECT day, district_id, priority, is_dv, iv, rollup_pack(array_agg(CASE WHEN d.n > 0 THEN d.s ELSE -d.s - 1 END))
    FROM unnest(durs) d CROSS JOIN generate_series(1, abs(d.n))
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (day, district_id, priority, is_dv, iv) DO UPDATE SET vals = rollup_bmerge(t.vals, excluded.vals);
END $$;

-- Changes waiting for their transaction's commit. Rows never outlive
-- their transaction, so the table need not be logged.
CREATE UNLOGGED TABLE rollup_pending (
    xid       bigint NOT NULL,
    contribs  rollup_contrib[] NOT NULL
);
CREATE INDEX rollup_pending_xid_idx ON rollup_pending (xid);

CREATE FUNCTION rollup_enqueue(c rollup_contrib[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO rollup_pending (xid, contribs) SELECT txid_current(), c WHERE cardinality(c) > 0
$$;

-- At commit: applies every change the transaction queued, at once (the
-- first firing does the work, the others find nothing).
CREATE FUNCTION rollup_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c rollup_contrib[];
BEGIN
    WITH d AS (DELETE FROM rollup_pending WHERE xid = txid_current() RETURNING contribs)
    SELECT array_agg(x) INTO c FROM d CROSS JOIN LATERAL unnest(d.contribs) x;
    PERFORM rollup_apply(c);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER rollup_flush AFTER INSERT ON rollup_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION rollup_flush();

-- The zone the rollups are kept in; NULL when they are not kept.
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

-- Fires for every UPDATE statement on incidents (a trigger with transition
-- tables cannot name columns); rows whose reported columns did not change
-- cost one comparison.
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

CREATE TRIGGER rollup_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_incidents_insert();
CREATE TRIGGER rollup_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_incidents_update();
CREATE TRIGGER rollup_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION rollup_incidents_delete();
CREATE TRIGGER rollup_truncate AFTER TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION rollup_incidents_truncate();

-- A type marked (or unmarked) domestic violence moves its incidents
-- between the is_dv cells.
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

CREATE TRIGGER rollup_type_is_dv AFTER UPDATE OF is_dv ON incident_types
    FOR EACH ROW WHEN (OLD.is_dv IS DISTINCT FROM NEW.is_dv) EXECUTE FUNCTION rollup_types_update();
