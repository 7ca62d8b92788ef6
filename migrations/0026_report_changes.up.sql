-- The reporting engine's change log (internal/facts): one row per incident
-- whose report columns or unit assignments changed, written by triggers in
-- the changing transaction, so it commits (or rolls back) with the change.
-- A reader keeps the xmin of the snapshot it last read (every transaction
-- that snapshot could not see has an xid at least that) and next reads the
-- rows with xid >= it: no change is missed, whatever the commit order.
-- incident_id 0 marks a bulk load that wrote incidents without logging
-- them (or a TRUNCATE): the reader must load everything again.
CREATE TABLE report_changes (
    xid          xid8 NOT NULL DEFAULT pg_current_xact_id(),
    incident_id  bigint NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE report_changes IS 'incidents changed, by writing transaction, for the reporting engine (postgres.FactChanges); pruned by age';
CREATE INDEX report_changes_xid_idx ON report_changes (xid);
-- The reload markers, found without reading the ids of a large change.
CREATE INDEX report_changes_reload_idx ON report_changes (xid) WHERE incident_id = 0;
-- Rows are appended about in time order: a BRIN index serves pruning at
-- next to no cost per insert.
CREATE INDEX report_changes_at_idx ON report_changes USING brin (at);

-- Statement-level: a COPY or INSERT ... SELECT of many rows logs them in
-- one INSERT ... SELECT.
CREATE FUNCTION report_changes_log_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO report_changes (incident_id) VALUES (0);
    ELSIF TG_TABLE_NAME = 'incidents' AND TG_OP = 'INSERT' THEN
        INSERT INTO report_changes (incident_id) SELECT id FROM new_rows;
    ELSIF TG_TABLE_NAME = 'incidents' AND TG_OP = 'DELETE' THEN
        INSERT INTO report_changes (incident_id) SELECT id FROM old_rows;
    ELSIF TG_OP = 'INSERT' THEN -- incident_units: an incident often has several
        INSERT INTO report_changes (incident_id) SELECT DISTINCT incident_id FROM new_rows;
    ELSE
        INSERT INTO report_changes (incident_id) SELECT DISTINCT incident_id FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

-- Row-level, for UPDATE OF the columns a report reads (a column list and
-- transition tables do not go together); the WHEN clauses leave out
-- updates that change none of them.
CREATE FUNCTION report_changes_log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'incidents' THEN
        INSERT INTO report_changes (incident_id) VALUES (NEW.id);
    ELSIF OLD.incident_id = NEW.incident_id THEN
        INSERT INTO report_changes (incident_id) VALUES (NEW.incident_id);
    ELSE -- an assignment moved to another incident: both change
        INSERT INTO report_changes (incident_id) VALUES (OLD.incident_id), (NEW.incident_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER report_changes_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_truncate AFTER TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_update AFTER UPDATE OF received_at, dispatched_at, en_route_at, on_scene_at, cleared_at,
        priority, district_id, settlement_id, type_id, corrections, victim_sex, victim_age, source ON incidents
    FOR EACH ROW WHEN ((OLD.received_at, OLD.dispatched_at, OLD.en_route_at, OLD.on_scene_at, OLD.cleared_at,
            OLD.priority, OLD.district_id, OLD.settlement_id, OLD.type_id, OLD.corrections, OLD.victim_sex, OLD.victim_age,
            OLD.source)
        IS DISTINCT FROM (NEW.received_at, NEW.dispatched_at, NEW.en_route_at, NEW.on_scene_at, NEW.cleared_at,
            NEW.priority, NEW.district_id, NEW.settlement_id, NEW.type_id, NEW.corrections, NEW.victim_sex, NEW.victim_age,
            NEW.source))
    EXECUTE FUNCTION report_changes_log_row();

CREATE TRIGGER report_changes_insert AFTER INSERT ON incident_units
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_delete AFTER DELETE ON incident_units
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_truncate AFTER TRUNCATE ON incident_units
    FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
-- Reports read which units an incident had, not when: releasing one
-- (released_at) is not logged.
CREATE TRIGGER report_changes_update AFTER UPDATE OF incident_id, unit_id ON incident_units
    FOR EACH ROW WHEN ((OLD.incident_id, OLD.unit_id) IS DISTINCT FROM (NEW.incident_id, NEW.unit_id))
    EXECUTE FUNCTION report_changes_log_row();
