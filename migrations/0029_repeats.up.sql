-- The reporting engine keeps, per incident, the time since its victim's
-- previous DV incident (internal/facts, repeat victimisation). It moves
-- when a victim link is made, undone or merged: the link triggers log
-- every incident of each person concerned, and the incident whose link
-- went. (A change of an incident's own time or type is logged by the
-- incidents' triggers; postgres.FactChanges adds its victim's other
-- incidents.) A type that stops or starts being DV changes whose
-- incidents count as previous ones for everyone: a reload marker.
CREATE FUNCTION report_changes_log_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO report_changes (incident_id) VALUES (0);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO report_changes (incident_id)
        SELECT incident_id FROM new_rows WHERE role = 'victim'
        UNION
        SELECT x.incident_id FROM incident_persons x
        WHERE x.role = 'victim' AND x.person_id IN (SELECT person_id FROM new_rows WHERE role = 'victim');
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO report_changes (incident_id)
        SELECT incident_id FROM old_rows WHERE role = 'victim'
        UNION
        SELECT x.incident_id FROM incident_persons x
        WHERE x.role = 'victim' AND x.person_id IN (SELECT person_id FROM old_rows WHERE role = 'victim');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER report_changes_insert AFTER INSERT ON incident_persons
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_links();
CREATE TRIGGER report_changes_update AFTER UPDATE ON incident_persons
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_links();
CREATE TRIGGER report_changes_delete AFTER DELETE ON incident_persons
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_links();
CREATE TRIGGER report_changes_truncate AFTER TRUNCATE ON incident_persons
    FOR EACH STATEMENT EXECUTE FUNCTION report_changes_log_links();

CREATE FUNCTION report_changes_reload() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_changes (incident_id) VALUES (0);
    RETURN NULL;
END $$;

CREATE TRIGGER report_changes_dv AFTER UPDATE OF is_dv ON incident_types
    FOR EACH ROW WHEN (OLD.is_dv IS DISTINCT FROM NEW.is_dv) EXECUTE FUNCTION report_changes_reload();

-- The intake's repeat counts read the orders in force of a victim's
-- incidents by incident.
CREATE INDEX protection_orders_incident_idx ON protection_orders (incident_id);
