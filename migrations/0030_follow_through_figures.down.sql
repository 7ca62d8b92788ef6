DROP INDEX IF EXISTS protection_orders_in_force_idx;
DROP INDEX IF EXISTS protection_orders_issued_idx;
DROP INDEX IF EXISTS follow_up_tasks_figures_idx;
