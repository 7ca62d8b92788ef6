ALTER TABLE incidents DROP COLUMN violation_found_by;
DROP TABLE order_checks;
DROP TABLE order_check_schedules;
DROP TABLE follow_up_tasks;
DROP TABLE follow_up_schedules;
