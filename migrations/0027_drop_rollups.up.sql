-- The report rollups go (issue 15): figures come from the in-memory
-- report store (internal/facts, see internal/report/ENGINE.md), and from
-- the incidents themselves until it is loaded. Their triggers cut the
-- intake to about a quarter and their tables outgrew the incidents'.
--
-- Dropped: what 0008 (report rollups), 0009 (dashboard rollups), 0011
-- (year rows) and 0019 (re-judging the dashboard rollups) created for
-- them: triggers, functions, types, tables and settings. Kept: 0009's
-- indexes of the slowest incidents (the dashboard's slowest list reads
-- them) and 0019's targets with effective dates, whose triggers no longer
-- touch the rollups.

-- The triggers first: nothing writes to the rollups from here on.
DROP TRIGGER rollup_insert ON incidents;
DROP TRIGGER rollup_update ON incidents;
DROP TRIGGER rollup_delete ON incidents;
DROP TRIGGER rollup_truncate ON incidents;
DROP TRIGGER rollup_type_is_dv ON incident_types;
DROP TRIGGER dash_insert ON incidents;
DROP TRIGGER dash_update ON incidents;
DROP TRIGGER dash_delete ON incidents;
DROP TRIGGER dash_truncate ON incidents;
DROP TRIGGER dash_type_is_dv ON incident_types;
DROP TRIGGER dash_priorities_changed ON priorities;

-- A change of priority_targets copies each touched level's latest targets
-- to priorities, as before; it has no rollups to re-judge.
CREATE OR REPLACE FUNCTION priority_targets_changed(old_rows priority_targets[], new_rows priority_targets[]) RETURNS void
LANGUAGE plpgsql AS $$
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
END $$;

-- Targets written to priorities directly (by hand: the application writes
-- priority_targets with the deployment's local day) are a change from
-- today in the session's time zone; the rollups' zone, used before, is
-- gone.
CREATE OR REPLACE FUNCTION priorities_targets_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL; -- priority_targets_changed copying the latest row
    END IF;
    INSERT INTO priority_targets AS t (level, effective_from, target_call_processing_s, target_turnout_s, target_travel_s,
        target_response_s, target_on_scene_s, target_total_s)
    VALUES (NEW.level, current_date, NEW.target_call_processing_s,
        NEW.target_turnout_s, NEW.target_travel_s, NEW.target_response_s, NEW.target_on_scene_s, NEW.target_total_s)
    ON CONFLICT (level, effective_from) DO UPDATE SET target_call_processing_s = excluded.target_call_processing_s,
        target_turnout_s = excluded.target_turnout_s, target_travel_s = excluded.target_travel_s,
        target_response_s = excluded.target_response_s, target_on_scene_s = excluded.target_on_scene_s,
        target_total_s = excluded.target_total_s;
    RETURN NULL;
END $$;

-- The dashboard rollups (0009, 0011, 0019).
DROP TABLE dash_pending; -- and its dash_flush trigger
DROP FUNCTION dash_flush();
DROP FUNCTION dash_enqueue(dash_contrib[]);
DROP FUNCTION dash_apply(dash_contrib[]);
DROP FUNCTION dash_priorities_changed();
DROP FUNCTION dash_types_update();
DROP FUNCTION dash_incidents_insert();
DROP FUNCTION dash_incidents_update();
DROP FUNCTION dash_incidents_delete();
DROP FUNCTION dash_incidents_truncate();
DROP FUNCTION dash_zone();
DROP FUNCTION dash_state();
DROP FUNCTION dash_targets();
DROP FUNCTION dash_recmerge(bytea, bytea, bytea);
DROP FUNCTION dash_record(dash_contrib);
DROP FUNCTION dash_contrib(integer, text, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, bigint, integer,
    boolean, integer, bigint, text, integer, priorities);
DROP FUNCTION dash_week(date);
DROP TYPE dash_dur;
DROP TYPE dash_row;
DROP TYPE dash_contrib;
DROP TABLE dash_days;
DROP TABLE dash_fine;
DROP TABLE dash_hist;
DROP TABLE dash_cells;

-- The report rollups (0008, 0011).
DROP TABLE rollup_pending; -- and its rollup_flush trigger
DROP FUNCTION rollup_flush();
DROP FUNCTION rollup_enqueue(rollup_contrib[]);
DROP FUNCTION rollup_apply(rollup_contrib[]);
DROP FUNCTION rollup_types_update();
DROP FUNCTION rollup_incidents_insert();
DROP FUNCTION rollup_incidents_update();
DROP FUNCTION rollup_incidents_delete();
DROP FUNCTION rollup_incidents_truncate();
DROP FUNCTION rollup_zone();
DROP FUNCTION rollup_merge(integer[], integer[]);
DROP FUNCTION rollup_bmerge(bytea, bytea);
DROP FUNCTION rollup_badd(bytea, bytea);
DROP FUNCTION rollup_get(bytea, integer);
DROP FUNCTION rollup_pack(integer[]);
DROP FUNCTION rollup_dense(integer[], integer[], integer);
DROP FUNCTION rollup_vadd(integer[], integer[]);
DROP FUNCTION rollup_contrib(integer, text, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, bigint, integer,
    boolean, integer);
DROP FUNCTION rollup_secs(timestamptz, timestamptz);
DROP TYPE rollup_dur;
DROP TYPE rollup_contrib;
DROP TABLE rollup_days;
DROP TABLE rollup_fine;
DROP TABLE rollup_hist;
DROP TABLE rollup_cells;

DELETE FROM app_settings WHERE key IN ('rollup_time_zone', 'dash_rollup_targets');
