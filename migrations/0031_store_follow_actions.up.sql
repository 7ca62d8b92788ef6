-- The reporting engine (internal/facts) keeps the follow-up tasks and the
-- protection orders beside the incidents, for the follow-through figures,
-- and each incident's actions (its referrals, danger screens and orders)
-- for the dashboard's action counts.
-- Their changes go to the same log, told apart by kind: 'i' an incident
-- (incident_id is its id, as before), 't' a follow-up task and 'o' a
-- protection order (incident_id holds the task's or the order's own id).
-- postgres.FactChanges adds the tasks and orders of every changed
-- incident (they carry a copy of its report columns).
ALTER TABLE report_changes ADD COLUMN kind "char" NOT NULL DEFAULT 'i' CHECK (kind IN ('i', 't', 'o'));
-- The log is a queue: pruned every minute, it is vacuumed and analysed
-- after 10,000 rows rather than a fraction of its size, so that a bulk
-- change's dead rows are cleared and the poll's plan (recent xids by
-- index) does not rest on statistics from before the bulk change (at 10 M
-- incidents a poll read 800 MB of dead rows for a second each until then).
ALTER TABLE report_changes SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
    autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000);
COMMENT ON COLUMN report_changes.kind IS 'i: incident_id is an incident; t: a follow-up task''s id; o: a protection order''s id';

CREATE FUNCTION report_changes_log_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k "char" := CASE TG_TABLE_NAME WHEN 'follow_up_tasks' THEN 't' ELSE 'o' END;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO report_changes (incident_id) VALUES (0);
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO report_changes (incident_id, kind) SELECT id, k FROM old_rows;
    ELSE -- an id never changes (GENERATED ALWAYS)
        INSERT INTO report_changes (incident_id, kind) SELECT id, k FROM new_rows;
    END IF;
    -- An order is one of its incident's actions: the incidents it was and
    -- is on change.
    IF k = 'o' AND TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_changes (incident_id) SELECT DISTINCT incident_id FROM new_rows WHERE incident_id IS NOT NULL;
    END IF;
    IF k = 'o' AND TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO report_changes (incident_id) SELECT DISTINCT incident_id FROM old_rows WHERE incident_id IS NOT NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER report_changes_insert AFTER INSERT ON follow_up_tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_follow();
CREATE TRIGGER report_changes_update AFTER UPDATE ON follow_up_tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_follow();
CREATE TRIGGER report_changes_delete AFTER DELETE ON follow_up_tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_follow();
CREATE TRIGGER report_changes_truncate AFTER TRUNCATE ON follow_up_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_follow();
CREATE TRIGGER report_changes_insert AFTER INSERT ON protection_orders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_follow();
CREATE TRIGGER report_changes_update AFTER UPDATE ON protection_orders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_follow();
CREATE TRIGGER report_changes_delete AFTER DELETE ON protection_orders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_follow();
CREATE TRIGGER report_changes_truncate AFTER TRUNCATE ON protection_orders
    FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_follow();

-- The violation columns are report columns now.
DROP TRIGGER report_changes_update ON incidents;
CREATE TRIGGER report_changes_update AFTER UPDATE OF received_at, dispatched_at, en_route_at, on_scene_at, cleared_at,
        priority, district_id, settlement_id, type_id, corrections, victim_sex, victim_age, source,
        protection_order_id, violation_found_by ON incidents
    FOR EACH ROW WHEN ((OLD.received_at, OLD.dispatched_at, OLD.en_route_at, OLD.on_scene_at, OLD.cleared_at,
            OLD.priority, OLD.district_id, OLD.settlement_id, OLD.type_id, OLD.corrections, OLD.victim_sex, OLD.victim_age,
            OLD.source, OLD.protection_order_id, OLD.violation_found_by)
        IS DISTINCT FROM (NEW.received_at, NEW.dispatched_at, NEW.en_route_at, NEW.on_scene_at, NEW.cleared_at,
            NEW.priority, NEW.district_id, NEW.settlement_id, NEW.type_id, NEW.corrections, NEW.victim_sex, NEW.victim_age,
            NEW.source, NEW.protection_order_id, NEW.violation_found_by))
    EXECUTE FUNCTION report_changes_log_row();

-- Referrals and danger screens are actions of their incident: it is logged
-- (0026's functions), on an update only when what is counted changes.
CREATE TRIGGER report_changes_insert AFTER INSERT ON referrals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_delete AFTER DELETE ON referrals
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_truncate AFTER TRUNCATE ON referrals
    FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_update AFTER UPDATE OF incident_id, accepted_at ON referrals
    FOR EACH ROW WHEN ((OLD.incident_id, OLD.accepted_at IS NULL) IS DISTINCT FROM (NEW.incident_id, NEW.accepted_at IS NULL))
    EXECUTE FUNCTION report_changes_log_row();
CREATE TRIGGER report_changes_insert AFTER INSERT ON danger_screens
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_delete AFTER DELETE ON danger_screens
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_truncate AFTER TRUNCATE ON danger_screens
    FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_rows();
CREATE TRIGGER report_changes_update AFTER UPDATE OF incident_id, high_danger ON danger_screens
    FOR EACH ROW WHEN ((OLD.incident_id, OLD.high_danger) IS DISTINCT FROM (NEW.incident_id, NEW.high_danger))
    EXECUTE FUNCTION report_changes_log_row();
