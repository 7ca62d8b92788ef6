-- Back to units without their own times: the per-assignment times are
-- dropped (the incident's times were never changed by them), and the new
-- statuses become the nearest old ones.
DROP TRIGGER units_status_since ON units;
DROP FUNCTION units_status_since();
ALTER TABLE units DROP COLUMN status_since;
ALTER TABLE units DROP CONSTRAINT units_status_check;
UPDATE units SET status = 'off_duty' WHERE status = 'out_of_service';
UPDATE units SET status = 'busy' WHERE status = 'on_break';
ALTER TABLE units ADD CONSTRAINT units_status_check
    CHECK (status IN ('available', 'dispatched', 'en_route', 'on_scene', 'busy', 'off_duty'));
ALTER TABLE incident_units
    DROP COLUMN en_route_at,
    DROP COLUMN on_scene_at,
    DROP COLUMN cleared_at;
