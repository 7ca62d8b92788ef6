DROP INDEX protection_orders_incident_idx;
DROP TRIGGER report_changes_dv ON incident_types;
DROP FUNCTION report_changes_reload();
DROP TRIGGER report_changes_truncate ON incident_persons;
DROP TRIGGER report_changes_delete ON incident_persons;
DROP TRIGGER report_changes_update ON incident_persons;
DROP TRIGGER report_changes_insert ON incident_persons;
DROP FUNCTION report_changes_log_links();
