DROP INDEX IF EXISTS order_checks_open_due_idx;
DROP INDEX IF EXISTS follow_up_tasks_open_due_idx;
