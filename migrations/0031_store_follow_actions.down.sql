DROP TRIGGER report_changes_update ON danger_screens;
DROP TRIGGER report_changes_truncate ON danger_screens;
DROP TRIGGER report_changes_delete ON danger_screens;
DROP TRIGGER report_changes_insert ON danger_screens;
DROP TRIGGER report_changes_update ON referrals;
DROP TRIGGER report_changes_truncate ON referrals;
DROP TRIGGER report_changes_delete ON referrals;
DROP TRIGGER report_changes_insert ON referrals;
DROP TRIGGER report_changes_update ON incidents;
CREATE TRIGGER report_changes_update AFTER UPDATE OF received_at, dispatched_at, en_route_at, on_scene_at, cleared_at,
        priority, district_id, settlement_id, type_id, corrections, victim_sex, victim_age, source ON incidents
    FOR EACH ROW WHEN ((OLD.received_at, OLD.dispatched_at, OLD.en_route_at, OLD.on_scene_at, OLD.cleared_at,
            OLD.priority, OLD.district_id, OLD.settlement_id, OLD.type_id, OLD.corrections, OLD.victim_sex, OLD.victim_age,
            OLD.source)
        IS DISTINCT FROM (NEW.received_at, NEW.dispatched_at, NEW.en_route_at, NEW.on_scene_at, NEW.cleared_at,
            NEW.priority, NEW.district_id, NEW.settlement_id, NEW.type_id, NEW.corrections, NEW.victim_sex, NEW.victim_age,
            NEW.source))
    EXECUTE FUNCTION report_changes_log_row();
DROP TRIGGER report_changes_truncate ON protection_orders;
DROP TRIGGER report_changes_delete ON protection_orders;
DROP TRIGGER report_changes_update ON protection_orders;
DROP TRIGGER report_changes_insert ON protection_orders;
DROP TRIGGER report_changes_truncate ON follow_up_tasks;
DROP TRIGGER report_changes_delete ON follow_up_tasks;
DROP TRIGGER report_changes_update ON follow_up_tasks;
DROP TRIGGER report_changes_insert ON follow_up_tasks;
DROP FUNCTION report_changes_log_follow();
DELETE FROM report_changes WHERE kind <> 'i';
ALTER TABLE report_changes RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,
    autovacuum_analyze_scale_factor, autovacuum_analyze_threshold);
ALTER TABLE report_changes DROP COLUMN kind;
