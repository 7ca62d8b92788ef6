-- Each unit on an incident keeps its own times (DESIGN.md §2,
-- "Assignment"): dispatched (assigned_at, as before), en route, on scene
-- and cleared. The incident's own stage times stay those of the first
-- unit (DESIGN.md §3), so the reports do not change.
ALTER TABLE incident_units
    ADD COLUMN en_route_at timestamptz,
    ADD COLUMN on_scene_at timestamptz,
    ADD COLUMN cleared_at  timestamptz;

-- Earlier assignments get the incident's times that fall within them: the
-- best that can be said of a unit before units kept their own. An
-- assignment that ended with the incident was cleared with it.
UPDATE incident_units iu SET
    en_route_at = CASE WHEN i.en_route_at >= iu.assigned_at AND (iu.released_at IS NULL OR i.en_route_at <= iu.released_at)
        THEN i.en_route_at END,
    on_scene_at = CASE WHEN i.on_scene_at >= iu.assigned_at AND (iu.released_at IS NULL OR i.on_scene_at <= iu.released_at)
        THEN i.on_scene_at END,
    cleared_at = CASE WHEN i.cleared_at IS NOT NULL AND iu.released_at = i.cleared_at THEN iu.released_at END
FROM incidents i WHERE i.id = iu.incident_id;

-- A unit can be out of service or on a break, and the board shows how
-- long it has been in its status.
ALTER TABLE units DROP CONSTRAINT units_status_check;
ALTER TABLE units ADD CONSTRAINT units_status_check
    CHECK (status IN ('available', 'dispatched', 'en_route', 'on_scene', 'busy', 'off_duty', 'out_of_service', 'on_break'));
ALTER TABLE units ADD COLUMN status_since timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION units_status_since() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_since := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER units_status_since BEFORE UPDATE OF status ON units
    FOR EACH ROW EXECUTE FUNCTION units_status_since();
